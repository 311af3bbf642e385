// JSON.parse source text access and JSON.rawJSON (TC39 "JSON.parse source text access"):
// shipped in V8 and so in Node 22+, not yet in TypeScript's lib. They let 64-bit integers
// cross JSON exactly, both ways.
interface JSON {
  rawJSON(text: string): unknown;
  isRawJSON(value: unknown): boolean;
}
