import { traced, tracer } from '../../shared/tracing';

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

describe('traced()', () => {
  afterEach(() => jest.restoreAllMocks());

  it('passes calls through untouched when tracing is off (tests, the local stack)', async () => {
    // Prepare
    const getSegment = jest.spyOn(tracer, 'getSegment');
    const fn = traced('Graph.send', async (n: number) => n * 2);

    // Act and assess
    await expect(fn(21)).resolves.toBe(42);
    expect(getSegment).not.toHaveBeenCalled();
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
