// Files the build embeds as text (tsup --loader .yaml=text), e.g. the demo environment.
declare module "*.yaml" {
  const text: string;
  // biome-ignore lint/style/noDefaultExport: esbuild's text loader gives the file as the default export
  export default text;
}
