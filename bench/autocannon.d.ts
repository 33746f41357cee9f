// autocannon ships no type declarations; bench/httpLoad.ts types the part of its API it uses.
declare module "autocannon";
