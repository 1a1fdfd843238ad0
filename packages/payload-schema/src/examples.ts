/**
 * The example payload of seed 004 (its trailing comma removed), embedded so that the CLI's demo and the docs
 * run on it without a file.
 */
export const EXAMPLE_PAYLOAD_TEXT = `{
  "backends": {
    "images": [
      "my-registry/image-for-backend-1:tag",
      "my-registry/image-for-other-backends:tag"
    ],
    "deployRules": [
      {
        "source": "^my-registry\\/image-for-other-backends:tag.*$",
        "target":"^(?!backend-1).*$"
      },
      {
        "source": "^my-registry\\/image-for-backend-1:tag.*$",
        "target": "^backend-1.*$"
      }
    ]
  },
  "codeAsData": {
    "image": "my-registry/image-for-codeasdata:tag"
  },
  "frontend": {
    "image":"my-registry/image-for-frontend:tag"
  }
}
`;
