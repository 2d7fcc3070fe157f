import { parseImagePushed } from '../../src/domain/imagePushed';

const eventGridSchema = {
  id: 'evt-1',
  topic: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/myacr',
  subject: 'team/web:v2',
  eventType: 'Microsoft.ContainerRegistry.ImagePushed',
  eventTime: '2026-11-24T10:00:00Z',
  dataVersion: '1.0',
  metadataVersion: '1',
  data: {
    id: 'a',
    timestamp: '2026-11-24T10:00:00Z',
    action: 'push',
    target: {
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      size: 524,
      digest: 'sha256:' + 'a'.repeat(64),
      length: 524,
      repository: 'team/web',
      tag: 'v2',
    },
    request: { id: 'r', host: 'MyAcr.azurecr.io', method: 'PUT', useragent: 'docker' },
  },
};

describe('ImagePushed events', () => {
  it('reads the Event Grid schema', () => {
    expect(parseImagePushed(eventGridSchema)).toEqual({
      kind: 'push',
      push: {
        eventId: 'evt-1',
        eventTime: '2026-11-24T10:00:00Z',
        registry: 'myacr.azurecr.io',
        repository: 'team/web',
        tag: 'v2',
        digest: 'sha256:' + 'a'.repeat(64),
      },
    });
  });

  it('reads CloudEvents 1.0 and falls back to the registry in the source', () => {
    const cloud = {
      id: 'evt-2',
      source: eventGridSchema.topic,
      type: 'Microsoft.ContainerRegistry.ImagePushed',
      specversion: '1.0',
      time: '2026-11-24T10:00:00Z',
      data: { ...eventGridSchema.data, request: undefined },
    };
    const parsed = parseImagePushed(cloud);
    expect(parsed.kind).toBe('push');
    if (parsed.kind === 'push') expect(parsed.push.registry).toBe('myacr.azurecr.io');
  });

  it('ignores other event types and incomplete events with a reason', () => {
    expect(
      parseImagePushed({ ...eventGridSchema, eventType: 'Microsoft.ContainerRegistry.ImageDeleted' }),
    ).toEqual({
      kind: 'ignored',
      reason:
        "event evt-1 has type 'Microsoft.ContainerRegistry.ImageDeleted', not Microsoft.ContainerRegistry.ImagePushed",
    });
    expect(parseImagePushed({ ...eventGridSchema, data: { target: {} } })).toMatchObject({
      kind: 'ignored',
      reason: expect.stringContaining('data.target.repository is missing'),
    });
    expect(parseImagePushed('not an object')).toMatchObject({ kind: 'ignored' });
    expect(parseImagePushed(null)).toMatchObject({ kind: 'ignored' });
  });
});
