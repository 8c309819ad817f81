declare const __ZAVHOZ_VERSION__: string | undefined;

/** This build's version, stamped in by the bundler; `0.0.0-dev` when running from source. */
export const ZAVHOZ_VERSION: string = typeof __ZAVHOZ_VERSION__ === 'string' ? __ZAVHOZ_VERSION__ : '0.0.0-dev';
