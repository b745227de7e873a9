type X509 = typeof import('@peculiar/x509');
export declare function x509(): X509;
export {};
