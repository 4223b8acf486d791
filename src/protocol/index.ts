/** imbed protocol v1: frames, codes and validation, shared by client and server. */
export * from './codes.js';
export * from './frames.js';
export * from './validate.js';
