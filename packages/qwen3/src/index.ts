// Filled by a later change; see README.md.
export {};
