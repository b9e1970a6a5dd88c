import { MAX_WEBHOOK_BODY_BYTES } from '../../shared/webhook/receive';

/**
 * Seeded generation of hostile webhook bodies, shared by the handler-level fuzz test and the one
 * through the local stack. Every body says what the webhook must answer and which opt-ins in it
 * are valid (and so may be sent, once each, byte for byte) or not (never sent).
 */

/** mulberry32: a small, fast, seeded PRNG; the same seed gives the same bodies everywhere. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export class Random {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = prng(seed);
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(values: readonly T[]): T {
    return values[this.int(values.length)] as T;
  }
  hex(length: number): string {
    let out = '';
    while (out.length < length) out += this.int(0x100000000).toString(16).padStart(8, '0');
    return out.slice(0, length);
  }
  bytes(length: number): Buffer {
    const out = Buffer.alloc(length);
    for (let i = 0; i < length; i += 1) out[i] = this.int(256);
    return out;
  }
}

export type Signature = 'valid' | 'none' | 'wrong';

export interface FuzzBody {
  /** Which generator made it (for the printed summary and failure messages). */
  shape: string;
  raw: Buffer;
  contentType: string | undefined;
  signature: Signature;
  /** What the webhook must answer. */
  expectStatus: 200 | 400 | 401 | 413;
  /** Valid opt-ins in it: the only ones that may be sent, each to exactly this login_id. */
  valid: Array<{ loginId: string; pageId: string }>;
  /** How many opt-ins in it break the contract (recorded as rejected when it is answered 200). */
  rejected: number;
  /** Strings that appear where a login_id could be read but must never be sent to. */
  neverSent: string[];
}

/** Content types API Gateway passes as text (as the local stack's API server decides). */
export const TEXT_TYPES = /^(text\/|application\/(json|x-www-form-urlencoded|xml|javascript))/i;

export interface FuzzOptions {
  seed: number;
  count: number;
  /** Epoch ms the opt-in timestamps are made around. */
  now: number;
  /** Configured Pages; valid opt-ins go to these (and some to an unconfigured one). */
  pageIds: readonly string[];
  /** Scales how often the expensive shapes (megabytes, 10,000 deep, huge batches) come up. */
  heavy: number;
  /** How many items a huge batch has, and how often one of them is an (empty) object. */
  hugeBatchItems: number;
  hugeBatchObjectEvery: number;
  /** At most this many entries per batch, and items per entry. @default 3 and 5 */
  maxEntries?: number;
  maxItems?: number;
}

const HOUR_MS = 3_600_000;
const UNCONFIGURED_PAGE = '9999999999';
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const deepArray = (depth: number, leaf = '0') => `${'['.repeat(depth)}${leaf}${']'.repeat(depth)}`;
const deepObject = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
const quote = (text: string) => JSON.stringify(text);

/** What a raw body must get from the webhook, as its rules say. */
export function expectedStatus(
  raw: Buffer,
  contentType: string | undefined,
  signature: Signature,
): FuzzBody['expectStatus'] {
  if (raw.length > MAX_WEBHOOK_BODY_BYTES) return 413;
  if (signature !== 'valid') return 401;
  const text = raw.toString('utf8');
  // A text body reaches the function as a string: bytes that are not UTF-8 do not survive, so
  // the signature over the original bytes no longer matches.
  if (TEXT_TYPES.test(contentType ?? 'application/json') && !Buffer.from(text, 'utf8').equals(raw))
    return 401;
  try {
    const parsed: unknown = JSON.parse(text.startsWith('\uFEFF') ? text.slice(1) : text);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? 200 : 400;
  } catch {
    return 400;
  }
}

interface Piece {
  text: string;
  valid: FuzzBody['valid'];
  rejected: number;
  neverSent: string[];
}

/** Builds the parts of bodies, with the bookkeeping of which opt-ins are valid. */
class Pieces {
  constructor(
    private readonly r: Random,
    private readonly options: FuzzOptions,
  ) {}

  loginId(): string {
    return this.r.hex(64);
  }

  page(): string {
    return this.r.chance(0.1) ? UNCONFIGURED_PAGE : this.r.pick(this.options.pageIds);
  }

  validTimestamp(): number {
    const { now } = this.options;
    return this.r.pick([now, now - this.r.int(HOUR_MS), now - 23 * HOUR_MS, now + 60_000]);
  }

  validOptin(proto = false): Piece {
    const loginId = this.loginId();
    const pageId = this.page();
    const decoy = this.loginId();
    const protoKeys = proto
      ? `"__proto__":{"login_id":${quote(decoy)}},"constructor":{"prototype":{"login_id":${quote(decoy)}}},`
      : '';
    const text = `{${protoKeys}"recipient":{${proto ? '"__proto__":{"id":"1"},' : ''}"id":${quote(pageId)}},"timestamp":${this.validTimestamp()},"optin":{${proto ? `"__proto__":{"login_id":${quote(decoy)}},` : ''}"login_id":${quote(loginId)}}}`;
    return { text, valid: [{ loginId, pageId }], rejected: 0, neverSent: proto ? [decoy] : [] };
  }

  /** An opt-in that breaks the contract in one of many ways. */
  invalidOptin(): Piece {
    const { now } = this.options;
    const r = this.r;
    const pageId = this.page();
    const loginId = this.loginId();
    const item = (login: string, timestamp: string, page = quote(pageId)) =>
      `{"recipient":{"id":${page}},"timestamp":${timestamp},"optin":{"login_id":${login}}}`;
    const badTimestamps = [
      '0',
      '-1',
      'true',
      'false',
      'null',
      quote(String(now)),
      quote('soon'),
      String(Math.floor(now / 1000)),
      String(now + HOUR_MS),
      String(now - 25 * HOUR_MS),
      '1e400',
      '-1e400',
      `${now}.5`,
      '[]',
      '{}',
      deepArray(100),
    ];
    const badLoginIds: Array<[string, string | undefined]> = [
      ['1e21', undefined],
      ['9007199254740993', undefined],
      ['12345', undefined],
      ['1e400', undefined],
      ['null', undefined],
      ['true', undefined],
      ['{}', undefined],
      [`[${quote(loginId)}]`, undefined],
      [quote(` ${loginId} `), ` ${loginId} `],
      [quote(` ${loginId}`), ` ${loginId}`],
      [quote(`${loginId}\n`), `${loginId}\n`],
      [quote(''), ''],
      [quote(`${loginId}${loginId}${loginId}${loginId}${loginId}`), undefined],
      [`"${loginId}\\ud800"`, undefined],
      [`"${loginId}\\u0000"`, undefined],
    ];
    switch (r.int(3)) {
      case 0: {
        const timestamp = r.pick(badTimestamps);
        return {
          text: item(quote(loginId), timestamp),
          valid: [],
          rejected: 1,
          neverSent: [loginId],
        };
      }
      case 1: {
        const [login, asString] = r.pick(badLoginIds);
        return {
          text: item(login, String(this.validTimestamp())),
          valid: [],
          rejected: 1,
          neverSent: [loginId, ...(asString !== undefined ? [asString] : [])],
        };
      }
      default: {
        const page = r.pick(['1111111111', quote(` ${pageId}`), quote('page'), 'null', '[]']);
        return {
          text: item(quote(loginId), String(this.validTimestamp()), page),
          valid: [],
          rejected: 1,
          neverSent: [loginId],
        };
      }
    }
  }

  /** An event the sender does not send for, with hostile values inside. */
  event(): Piece {
    const r = this.r;
    const pageId = this.page();
    const psid = String(1e15 + r.int(1e9));
    const junk = r.pick([
      '1',
      '1e400',
      '1e21',
      '1e-200',
      '-0',
      quote('x'.repeat(r.int(300))),
      '"\\ud800\\udc00 \\ud800"',
      '{"":1}',
      '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}',
      '{"a":1,"a":2}',
      deepArray(30),
      '[]',
      'null',
    ]);
    const text = r.pick([
      `{"sender":{"id":${quote(psid)}},"recipient":{"id":${quote(pageId)}},"timestamp":${this.options.now},"message":{"mid":"m_${r.hex(12)}","text":"hi","extra":${junk}}}`,
      `{"sender":{"id":${quote(psid)}},"recipient":{"id":${quote(pageId)}},"delivery":{"mids":["m_${r.hex(8)}"],"watermark":${r.pick([String(this.options.now), '1e300', '-5', '"x"'])}}}`,
      `{"sender":{"id":${quote(psid)}},"recipient":{"id":${quote(pageId)}},"timestamp":${r.pick(['1e300', '"1e400"', '0', String(this.options.now)])},"read":{"watermark":${this.options.now}}}`,
      `{"sender":{"id":${r.pick(['1e21', quote(psid), quote(` ${psid}`), '{}'])}},"recipient":{"id":${quote(pageId)}},"postback":{"payload":${junk}}}`,
      `{"recipient":{"id":${quote(pageId)}},"timestamp":${this.options.now},"optin":{"ref":"r","user_ref":"u","extra":${junk}}}`,
      `{"sender":{"id":${quote(psid)}},"recipient":{"id":${quote(pageId)}},"brand_new_event":${junk}}`,
      junk,
    ]);
    return { text, valid: [], rejected: 0, neverSent: [] };
  }

  /** 1 to 5 items: valid and invalid opt-ins and events, in any order. */
  items(options: { proto?: boolean } = {}): Piece {
    const pieces: Piece[] = [];
    const n = 1 + this.r.int(this.options.maxItems ?? 5);
    for (let i = 0; i < n; i += 1) {
      const roll = this.r.int(10);
      pieces.push(
        roll < 4 ? this.validOptin(options.proto) : roll < 7 ? this.invalidOptin() : this.event(),
      );
    }
    return merge(pieces, ',');
  }

  /** A whole body: 1 to 3 entries, each with items under messaging or standby. */
  batch(options: { proto?: boolean } = {}): Piece {
    const entries: Piece[] = [];
    const n = 1 + this.r.int(this.options.maxEntries ?? 3);
    for (let i = 0; i < n; i += 1) {
      const items = this.items(options);
      const channel = this.r.chance(0.8) ? 'messaging' : 'standby';
      const proto = options.proto ? '"__proto__":{"messaging":[]},"constructor":{},' : '';
      entries.push({
        ...items,
        text: `{${proto}"id":${quote(this.page())},"time":${this.options.now},${quote(channel)}:[${items.text}]}`,
      });
    }
    const body = merge(entries, ',');
    const proto = options.proto ? '"__proto__":{"entry":[]},"constructor":{"prototype":{}},' : '';
    return { ...body, text: `{${proto}"object":"page","entry":[${body.text}]}` };
  }
}

function merge(pieces: Piece[], separator: string): Piece {
  return {
    text: pieces.map((p) => p.text).join(separator),
    valid: pieces.flatMap((p) => p.valid),
    rejected: pieces.reduce((n, p) => n + p.rejected, 0),
    neverSent: pieces.flatMap((p) => p.neverSent),
  };
}

const nothing = { valid: [], rejected: 0, neverSent: [] };
const HEAVY_SHAPES = [
  'whole',
  'whole',
  'messaging',
  'messaging',
  'login',
  'login',
  'huge',
  'mega',
  'mega',
  'big',
  'big',
] as const;
const HEAVY_KINDS = [...new Set(HEAVY_SHAPES)];

/**
 * `count` bodies from `seed`, made one at a time (the large ones are megabytes). Every shape
 * the issue names comes up: deep nesting (whole body, `messaging`, `login_id`), huge arrays,
 * megabyte ids, oversized events and bodies, random bytes, truncated JSON, JSON that is not an
 * object, `__proto__`/`constructor` keys at every level, a BOM, bytes that are not UTF-8,
 * duplicate keys, odd content types, `1e400`, and opt-ins whose timestamp, `login_id` or Page id
 * break the contract.
 */
export function* fuzzBodies(options: FuzzOptions): Generator<FuzzBody> {
  const r = new Random(options.seed);
  const pieces = new Pieces(r, options);
  for (let i = 0; i < options.count; i += 1) {
    // About one body in 18 (times `heavy`) is an expensive one; huge batches are half as common.
    // Right after the oversized bodies, each expensive shape once, so every run has them all.
    const first = i - 2 >= 0 && i - 2 < HEAVY_KINDS.length ? HEAVY_KINDS[i - 2] : undefined;
    const expensive = first ?? (r.chance(0.055 * options.heavy) ? r.pick(HEAVY_SHAPES) : undefined);
    let shape = 'batch';
    let raw: Buffer;
    let meta: Omit<Piece, 'text'> = nothing;
    let contentType: string | undefined = 'application/json';
    let signature: Signature = 'valid';
    const body = (piece: Piece) => {
      meta = piece;
      return Buffer.from(piece.text, 'utf8');
    };
    // The two oversized bodies come first, so even a short run has them: one over the webhook's
    // 4 MiB, one over API Gateway's 10 MB.
    if (i === 0 || (i === 1 && options.count > 100)) {
      shape = 'too large';
      const filler = 'x'.repeat(i === 0 ? MAX_WEBHOOK_BODY_BYTES + 1 : 10.5 * 1024 * 1024);
      raw = Buffer.from(`{"object":"page","entry":[],"pad":"${filler}"}`);
    } else if (expensive === 'whole') {
      shape = 'whole body 10,000 deep';
      raw = Buffer.from(r.chance(0.5) ? deepArray(10_000) : deepObject(10_000));
    } else if (expensive === 'messaging') {
      shape = 'messaging 10,000 deep';
      raw = Buffer.from(
        `{"object":"page","entry":[{"id":"${pieces.page()}","time":${options.now},"messaging":${deepArray(10_000)}}]}`,
      );
    } else if (expensive === 'login') {
      shape = 'login_id 10,000 deep';
      meta = { valid: [], rejected: 1, neverSent: [] };
      raw = Buffer.from(
        `{"object":"page","entry":[{"id":"${pieces.page()}","time":${options.now},"messaging":[{"recipient":{"id":"${pieces.page()}"},"timestamp":${options.now},"optin":{"login_id":${deepArray(10_000, '"x"')}}}]}]}`,
      );
    } else if (expensive === 'huge') {
      shape = 'huge batch';
      const items = Array.from({ length: options.hugeBatchItems }, (_, k) =>
        k % options.hugeBatchObjectEvery === 0 ? '{}' : String(k),
      ).join(',');
      raw = Buffer.from(
        `{"object":"page","entry":[{"id":"${pieces.page()}","time":${options.now},"messaging":[${items}]}]}`,
      );
    } else if (expensive === 'mega') {
      shape = 'megabyte id';
      const mega = 'x'.repeat(1_000_000);
      const where = r.int(3);
      meta = { valid: [], rejected: where === 2 ? 0 : 1, neverSent: [mega] };
      raw = Buffer.from(
        where === 0
          ? `{"object":"page","entry":[{"id":"${pieces.page()}","messaging":[{"recipient":{"id":"${pieces.page()}"},"timestamp":${options.now},"optin":{"login_id":"${mega}"}}]}]}`
          : where === 1
            ? `{"object":"page","entry":[{"id":"${pieces.page()}","messaging":[{"recipient":{"id":"${mega}"},"timestamp":${options.now},"optin":{"login_id":"${pieces.loginId()}"}}]}]}`
            : `{"object":"page","entry":[{"id":"${mega}","messaging":[{"sender":{"id":"${mega}"},"recipient":{"id":"${mega}"},"message":{"text":"hi"}}]}]}`,
      );
    } else if (expensive === 'big') {
      shape = 'unknown event too large for a queue message';
      raw = Buffer.from(
        `{"object":"page","entry":[{"id":"${pieces.page()}","messaging":[{"recipient":{"id":"${pieces.page()}"},"blob":"${'y'.repeat(300_000)}"}]}]}`,
      );
    } else {
      const roll = r.int(100);
      if (roll < 45) {
        raw = body(pieces.batch());
      } else if (roll < 52) {
        shape = '__proto__ and constructor keys at every level';
        raw = body(pieces.batch({ proto: true }));
      } else if (roll < 56) {
        shape = 'duplicate keys';
        const first = pieces.loginId();
        const last = pieces.loginId();
        const pageId = pieces.page();
        meta = { valid: [{ loginId: last, pageId }], rejected: 0, neverSent: [first] };
        raw = Buffer.from(
          `{"object":"page","object":"page","entry":[{"id":"${pageId}","messaging":[{"recipient":{"id":"1","id":"${pageId}"},"timestamp":0,"timestamp":${options.now},"optin":{"login_id":"${first}","login_id":"${last}"}}]}]}`,
        );
      } else if (roll < 60) {
        shape = 'UTF-8 BOM';
        raw = Buffer.concat([BOM, body(pieces.batch())]);
      } else if (roll < 67) {
        shape = 'odd content type';
        raw = body(pieces.batch());
        contentType = r.pick([
          'text/plain',
          'application/octet-stream',
          'multipart/form-data; boundary=x',
          'application/x-www-form-urlencoded',
          undefined,
        ]);
      } else if (roll < 72) {
        shape = 'bytes that are not UTF-8 in strings';
        const piece = pieces.batch();
        const at = piece.text.lastIndexOf('"login_id":"');
        const text = Buffer.from(piece.text, 'utf8');
        const cut = at >= 0 ? Buffer.byteLength(piece.text.slice(0, at + 14)) : text.length - 10;
        raw = Buffer.concat([
          text.subarray(0, cut),
          r.pick([Buffer.from([0xff]), Buffer.from([0xc3]), Buffer.from([0xed, 0xa0, 0x80])]),
          text.subarray(cut),
        ]);
        contentType = r.pick(['application/json', 'application/octet-stream']);
        // The opt-in whose login_id now holds the bad byte is no longer valid.
        const broken =
          at >= 0 ? piece.valid.filter((v) => piece.text.indexOf(v.loginId, at) === at + 12) : [];
        meta = {
          valid: piece.valid.filter((v) => !broken.includes(v)),
          rejected: piece.rejected + broken.length,
          neverSent: [...piece.neverSent, ...broken.map((v) => v.loginId)],
        };
      } else if (roll < 79) {
        shape = 'random bytes';
        raw = r.bytes(1 + r.int(2_000));
      } else if (roll < 86) {
        shape = 'truncated JSON';
        const piece = pieces.batch();
        raw = Buffer.from(piece.text.slice(0, r.int(piece.text.length)), 'utf8');
        meta = { valid: [], rejected: 0, neverSent: piece.valid.map((v) => v.loginId) };
      } else if (roll < 92) {
        shape = 'JSON that is not an object';
        raw = Buffer.from(
          r.pick(['1', '"x"', 'null', 'true', '[]', '[{"object":"page","entry":[]}]', '1e400']),
        );
      } else if (roll < 96) {
        shape = 'unsigned or wrongly signed';
        const piece = pieces.batch();
        raw = body(piece);
        meta = { valid: [], rejected: 0, neverSent: piece.valid.map((v) => v.loginId) };
        signature = r.pick(['none', 'wrong'] as const);
      } else {
        shape = 'entry of odd shapes';
        raw = Buffer.from(
          `{"object":"page","entry":${r.pick(['{}', '"x"', '[1,"x",null,[],{}]', `[{"id":1e21,"changes":[{"field":"${'f'.repeat(2_000)}","value":1e400},7]}]`, '[{"id":"1","messaging":{"0":{}}}]'])}}`,
        );
      }
    }
    const expectStatus = expectedStatus(raw, contentType, signature);
    if (expectStatus !== 200) {
      meta = {
        valid: [],
        rejected: 0,
        neverSent: [...meta.neverSent, ...meta.valid.map((v) => v.loginId)],
      };
    }
    yield { shape, raw, contentType, signature, expectStatus, ...meta };
  }
}
