#!/usr/bin/env node
// A Node producer of gdpr-ledger: appends one collection event through @grpc/grpc-js (the protos
// loaded at run time from the repository's proto/ by @grpc/proto-loader) and verifies the
// receipt's SPEC.md section 7 bundle against the verifier key obtained out of band, with the
// independent JavaScript verifier of web/ (web/src, written from docs/SPEC.md); then sends the same
// event again, as a retry would, and checks the ledger answers with the original receipt.
//
//   node clients/node/append_and_verify.js --address 127.0.0.1:50051 \
//       --token "$(cat secrets/dev-admin-token)" --key secrets/verifier-key
//
// --key is the verifier key itself (<origin>+<key id>+<base64>) or a file holding it. Retries are
// the channel's, through its gRPC service config: UNAVAILABLE only (appends are idempotent by event
// id, docs/events.md). Exit codes: 0 appended and verified; 1 usage or RPC failure; 2 the bundle
// does not verify (the check's code, SPEC.md section 9, is printed) or proves another entry.
import { existsSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import { b64encode, equal } from '../../web/src/bytes.js';
import { parseKeys, verifyBundle } from '../../web/src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const PROTO_ROOT = join(here, '..', '..', 'proto');

// Every Ledger method is retried on UNAVAILABLE only, with exponential backoff (gRFC A6).
export const SERVICE_CONFIG = {
  methodConfig: [
    {
      name: [{ service: 'gdpr_ledger.v1.Ledger' }],
      retryPolicy: {
        maxAttempts: 5,
        initialBackoff: '0.2s',
        maxBackoff: '5s',
        backoffMultiplier: 2,
        retryableStatusCodes: ['UNAVAILABLE'],
      },
    },
  ],
};

class Stop extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (!flag.startsWith('--') || value === undefined) throw new Stop(1, `usage: --address HOST:PORT --token TOKEN --key KEY|FILE (at ${flag})`);
    out[flag.slice(2)] = value;
  }
  for (const need of ['address', 'token', 'key']) if (!out[need]) throw new Stop(1, `--${need} is required`);
  return out;
}

function ledgerClient(address) {
  const definition = protoLoader.loadSync(['gdpr_ledger/v1/ledger.proto'], {
    includeDirs: [PROTO_ROOT],
    keepCase: true, // field names as in the .proto files
    longs: String, // uint64 as decimal text, never a rounded number
    enums: String,
    defaults: true,
  });
  const v1 = grpc.loadPackageDefinition(definition).gdpr_ledger.v1;
  return new v1.Ledger(address, grpc.credentials.createInsecure(), {
    'grpc.service_config': JSON.stringify(SERVICE_CONFIG),
    'grpc.enable_retries': 1,
  });
}

function append(client, token, submission) {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  return new Promise((resolve, reject) => {
    client.Append({ submission, include_bundle: true }, metadata, { deadline: Date.now() + 30_000 }, (error, response) =>
      error ? reject(new Stop(1, `${grpc.status[error.code]}: ${error.details}`)) : resolve(response.receipt),
    );
  });
}

// The receipt's bundle verifies under the key and proves exactly the receipt's entry.
function verifyReceipt(receipt, keys) {
  if (!receipt.bundle_json) throw new Stop(2, 'the receipt carries no bundle');
  let verified;
  try {
    verified = verifyBundle(receipt.bundle_json, keys);
  } catch (e) {
    if (!e.code) throw e;
    throw new Stop(2, e.message); // "<code>: <what failed>"
  }
  if (verified.entries.length !== 1) throw new Stop(2, `the bundle holds ${verified.entries.length} entries, not 1`);
  const [entry] = verified.entries;
  if (String(entry.index) !== receipt.index) throw new Stop(2, `the bundle proves index ${entry.index}, the receipt names ${receipt.index}`);
  if (!equal(entry.leaf, new Uint8Array(receipt.leaf_hash))) throw new Stop(2, "the bundle's entry is not the receipt's (leaf hash)");
  return verified;
}

async function main(argv) {
  const args = parseArgs(argv);
  const keyText = existsSync(args.key) ? readFileSync(args.key, 'utf8') : args.key;
  let keys;
  try {
    keys = parseKeys([keyText.trim()]);
  } catch (e) {
    throw new Stop(1, `the verifier key: ${e.message}`);
  }
  const client = ledgerClient(args.address);
  const now = Date.now();
  // docs/events.md: the event id is the producer's and holds no personal data; the e-mail
  // address goes in `subject` only, which the ledger replaces by a pseudonym.
  const submission = {
    event: {
      event_id: `crm:node-${now}-${randomBytes(4).toString('hex')}`,
      kind: 'EVENT_KIND_COLLECTION',
      occurred_at: { seconds: String(Math.floor(now / 1000)), nanos: (now % 1000) * 1_000_000 },
      system: 'crm',
      data_categories: ['pd:Name', 'pd:EmailAddress'],
      purposes: ['dpv:ServiceProvision'],
      legal_bases: ['eu-gdpr:A6-1-b'],
      collection_channel: 'web-form',
    },
    subject: { kind: 'email', value: args.subject ?? 'jane.doe@example.com' },
  };
  try {
    const receipt = await append(client, args.token, submission);
    console.log(`appended ${submission.event.event_id} at index ${receipt.index}`);
    const verified = verifyReceipt(receipt, keys);
    const [entry] = verified.entries;
    console.log(
      `bundle verified: entry ${entry.index} (leaf ${b64encode(entry.leaf)}) in the checkpoint of ${verified.checkpoint.origin} ` +
        `at size ${verified.checkpoint.size}, signed by key ${entry.key.keyId}`,
    );
    const again = await append(client, args.token, submission);
    if (!again.duplicate || again.index !== receipt.index) throw new Stop(2, `the retry was appended again at index ${again.index}`);
    verifyReceipt(again, keys);
    console.log(`retry answered with the original receipt: index ${again.index}, duplicate`);
  } finally {
    client.close();
  }
}

main(process.argv.slice(2)).catch((e) => {
  if (!(e instanceof Stop)) throw e;
  console.error(`error: ${e.message}`);
  process.exit(e.status);
});
