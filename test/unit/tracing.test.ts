import { Tracer } from '@aws-lambda-powertools/tracer';
import * as tracing from '../../shared/tracing';

/** `shared/tracing` loaded afresh under `env` (it decides at load whether to load Tracer). */
function loadTracing(env: NodeJS.ProcessEnv): typeof tracing {
  const saved = process.env;
  process.env = { ...env };
  try {
    let loaded: typeof tracing | undefined;
    jest.isolateModules(() => {
      loaded = require('../../shared/tracing');
    });
    return loaded as typeof tracing;
  } finally {
    process.env = saved;
  }
}

const IN_LAMBDA = { AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x' };

/** A stand-in for the X-Ray segment Lambda gives a traced invocation. */
function fakeSegment() {
  const subsegments: Array<{
    name: string;
    annotations: Record<string, unknown>;
    errors: unknown[];
    closed: boolean;
  }> = [];
  const segment = {
    addNewSubsegment(name: string) {
      const sub = {
        name,
        annotations: {} as Record<string, unknown>,
        errors: [] as unknown[],
        closed: false,
        addAnnotation(key: string, value: unknown) {
          sub.annotations[key] = value;
        },
        addError(error: unknown) {
          sub.errors.push(error);
        },
        close() {
          sub.closed = true;
        },
      };
      subsegments.push(sub);
      return sub;
    },
  };
  return { segment, subsegments };
}

describe('tracingWanted()', () => {
  it.each([
    [{}, false],
    [IN_LAMBDA, true],
    [{ ...IN_LAMBDA, POWERTOOLS_TRACE_ENABLED: 'false' }, false],
    [{ ...IN_LAMBDA, POWERTOOLS_TRACE_ENABLED: 'FALSE' }, false],
    [{ ...IN_LAMBDA, POWERTOOLS_TRACE_ENABLED: 'true' }, true],
    [{ ...IN_LAMBDA, AWS_SAM_LOCAL: 'true' }, false],
    [{ AWS_EXECUTION_ENV: 'AWS_Lambda_amplify-mock' }, false],
    [{ POWERTOOLS_TRACE_ENABLED: 'true' }, false],
    [{ ...IN_LAMBDA, AWS_SAM_LOCAL: ' ' }, true],
    [{ ...IN_LAMBDA, POWERTOOLS_TRACE_ENABLED: ' false ' }, false],
  ])('agrees with Tracer itself under %j', (env, wanted) => {
    // Prepare
    const saved = process.env;
    process.env = { ...env };
    let tracerSays: boolean;
    try {
      // Not capturing http: that would patch node:http for the rest of this worker's tests.
      tracerSays = new Tracer({
        serviceName: 'test',
        captureHTTPsRequests: false,
      }).isTracingEnabled();
    } finally {
      process.env = saved;
    }

    // Act and assess
    expect(tracing.tracingWanted(env)).toBe(wanted);
    expect(tracerSays).toBe(wanted);
  });
});

describe('where tracing is off (tests, the local stack)', () => {
  it('loads no Tracer, and passes clients and calls through untouched', async () => {
    // Prepare
    const { tracer, captureClient, traced } = loadTracing({});
    const client = { send: () => undefined };
    const fn = traced('Graph.send', async (n: number) => n * 2);

    // Act and assess
    expect(tracer).toBeUndefined();
    expect(captureClient(client)).toBe(client);
    await expect(fn(21)).resolves.toBe(42);
  });
});

describe('traced(), in Lambda', () => {
  afterEach(() => jest.restoreAllMocks());
  const { tracer: loaded, traced } = loadTracing(IN_LAMBDA);
  const tracer = loaded as Tracer;

  it('loads Tracer, with tracing on', () => {
    // Its own copy of the module (isolated registry), so not `instanceof` this file's Tracer.
    expect(tracer?.constructor.name).toBe('Tracer');
    expect(tracer.isTracingEnabled()).toBe(true);
  });

  it('records each call in a named subsegment with the annotations, never changing the current segment', async () => {
    // Prepare
    const { segment, subsegments } = fakeSegment();
    jest.spyOn(tracer, 'isTracingEnabled').mockReturnValue(true);
    jest.spyOn(tracer, 'getSegment').mockReturnValue(segment as never);
    // Records of a batch run at once and share X-Ray's one current segment: none may change it.
    const setSegment = jest.spyOn(tracer, 'setSegment').mockImplementation(() => {});
    const fn = traced(
      'Graph.send',
      async () => ({ ok: true, httpStatus: 200, skipped: undefined }),
      (r) => ({ graphOk: r.ok, httpStatus: r.httpStatus, skipped: r.skipped }),
    );

    // Act
    await fn();

    // Assess
    expect(subsegments).toEqual([
      expect.objectContaining({
        name: 'Graph.send',
        annotations: { graphOk: true, httpStatus: 200 },
        closed: true,
      }),
    ]);
    expect(setSegment).not.toHaveBeenCalled();
  });

  it('records a thrown error on the subsegment, closes it and rethrows', async () => {
    // Prepare
    const { segment, subsegments } = fakeSegment();
    jest.spyOn(tracer, 'isTracingEnabled').mockReturnValue(true);
    jest.spyOn(tracer, 'getSegment').mockReturnValue(segment as never);
    const boom = new Error('socket hang up');

    // Act and assess
    await expect(
      traced('Graph.permissions', async () => {
        throw boom;
      })(),
    ).rejects.toBe(boom);
    expect(subsegments[0]).toMatchObject({ errors: [boom], closed: true });
  });
});
