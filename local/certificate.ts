import { generate } from 'selfsigned';

export interface EmulatorCertificate {
  key: string;
  cert: string;
}

/**
 * A fresh self-signed certificate for localhost and 127.0.0.1, made at every start. It is its own CA:
 * clients trust it through the pipeline's `tlsOptions.ca` or `NODE_EXTRA_CA_CERTS`.
 */
export async function makeCertificate(): Promise<EmulatorCertificate> {
  const pems = await generate([{ name: 'commonName', value: 'Greenlight Container Apps emulator' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 30 * 24 * 3600 * 1000),
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}
