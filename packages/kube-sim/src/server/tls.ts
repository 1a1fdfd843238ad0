/**
 * A self-signed serving certificate for 127.0.0.1 / localhost, made once per process (key generation is the slow
 * part of a TLS start) and reused by every simulator that asks for TLS.
 */

export interface ServingCert {
  cert: string;
  key: string;
}

let cached: Promise<ServingCert> | undefined;

export function servingCert(): Promise<ServingCert> {
  // Loaded on demand: selfsigned pulls in a full X.509/ASN.1 stack that plain HTTP start-up does not need.
  cached ??= import("selfsigned").then(({ generate }) =>
    generate([{ name: "commonName", value: "kube-sim" }], {
      keyType: "ec",
      curve: "P-256",
      algorithm: "sha256",
      notAfterDate: new Date(Date.now() + 365 * 24 * 3600 * 1000),
      extensions: [
        { name: "basicConstraints", cA: true },
        { name: "keyUsage", digitalSignature: true, keyCertSign: true, keyEncipherment: true },
        { name: "extKeyUsage", serverAuth: true },
        {
          name: "subjectAltName",
          altNames: [
            { type: 2, value: "localhost" },
            { type: 7, ip: "127.0.0.1" },
          ],
        },
      ],
    }).then((r) => ({ cert: r.cert, key: r.private })),
  );
  return cached;
}
