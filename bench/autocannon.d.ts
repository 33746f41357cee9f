// autocannon ships no type declarations; bench/serve.ts types the part of its API it uses.
declare module "autocannon";
