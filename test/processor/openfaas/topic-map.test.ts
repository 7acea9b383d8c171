/**
 * How the topic map reads the gateway's `/system` replies: bodies as
 * providers send them (a BOM, `null` or nothing for an empty namespace),
 * bodies that are no list, and failed requests, each with the reason that is
 * counted and the message that is logged.
 */
import { REPLY_TOO_LARGE, requestError, type GetReply } from '../../../src/util/http-post';
import { fetchTopicMap, type SystemGet, TopicMapError } from '../../../src/processor/openfaas/topic-map';

const GATEWAY = 'http://gateway.openfaas:8080';

/** A gateway answering each path with a status and body (404 for any other path). */
function gateway(replies: Record<string, string | Error>): SystemGet {
  return async (path: string): Promise<GetReply> => {
    const reply = replies[path];
    if (reply instanceof Error) throw reply;
    if (reply === undefined) return { status: 404, headers: {}, body: Buffer.from('404 page not found') };
    return { status: 200, headers: {}, body: Buffer.from(reply) };
  };
}

async function failure(get: SystemGet): Promise<TopicMapError> {
  try {
    await fetchTopicMap(get, GATEWAY);
  } catch (err) {
    if (err instanceof TopicMapError) return err;
    throw err;
  }
  throw new Error('expected the rebuild to fail');
}

const fn = (name: string, topic: string) => ({ name, annotations: { topic } });

it('reads a JSON body that starts with a byte order mark', async () => {
  const map = await fetchTopicMap(
    gateway({
      '/system/namespaces': '\uFEFF["ns"]',
      '/system/functions?namespace=ns': '\uFEFF' + JSON.stringify([fn('a', 'VmPoweredOnEvent')]),
    }),
    GATEWAY,
  );
  expect(map.targets('VmPoweredOnEvent').map((t) => t.path)).toEqual(['a.ns']);
});

it('takes `null` and an empty body for a namespace without functions', async () => {
  const map = await fetchTopicMap(
    gateway({
      '/system/namespaces': '["empty","nothing","full"]',
      '/system/functions?namespace=empty': 'null',
      '/system/functions?namespace=nothing': '',
      '/system/functions?namespace=full': JSON.stringify([fn('b', 'VmCreatedEvent')]),
    }),
    GATEWAY,
  );
  expect(map.functionCount).toBe(1);
  expect(map.subjects).toEqual(['VmCreatedEvent']);
});

it('without /system/namespaces, lists /system/functions alone', async () => {
  const map = await fetchTopicMap(
    gateway({ '/system/functions': JSON.stringify([fn('c', 'VmRemovedEvent')]) }),
    GATEWAY,
  );
  expect(map.targets('VmRemovedEvent').map((t) => t.path)).toEqual(['c']);
});

it('refuses a body that is no list: an error page, an empty namespace list reply', async () => {
  const page = await failure(
    gateway({ '/system/namespaces': '["ns"]', '/system/functions?namespace=ns': '<html>oops</html>' }),
  );
  expect([page.reason, page.message]).toEqual([
    'invalid_response',
    `OpenFaaS gateway ${GATEWAY} returned an unexpected GET /system/functions?namespace=ns body (expected an array of functions)`,
  ]);
  const empty = await failure(gateway({ '/system/namespaces': '' }));
  expect([empty.reason, empty.message]).toEqual([
    'invalid_response',
    `OpenFaaS gateway ${GATEWAY} returned an unexpected /system/namespaces body (expected an array of names)`,
  ]);
});

it('names what failed: a reply past the cap, a refused connection, the deadline', async () => {
  const large = await failure(
    gateway({ '/system/namespaces': requestError('reply larger than 8388608 bytes', REPLY_TOO_LARGE) }),
  );
  expect([large.reason, large.message]).toEqual([
    'too_large',
    `OpenFaaS gateway ${GATEWAY} answered GET /system/namespaces with more than 8 MiB: reply refused (the cap keeps the router within its memory limit)`,
  ]);
  const refused = await failure(
    gateway({ '/system/namespaces': requestError('connect ECONNREFUSED', 'ECONNREFUSED') }),
  );
  expect([refused.reason, refused.message]).toEqual([
    'unreachable',
    `OpenFaaS gateway ${GATEWAY} is unreachable (GET /system/namespaces: ECONNREFUSED)`,
  ]);
  const late = await failure(
    gateway({ '/system/namespaces': requestError('timeout of 30000ms exceeded', 'ECONNABORTED') }),
  );
  expect(late.message).toBe(
    `OpenFaaS gateway ${GATEWAY} is unreachable (GET /system/namespaces: ECONNABORTED)`,
  );
});
