import type { CloudEvent } from 'cloudevents';

/** The CloudEvent the router builds for one vSphere event (`data` is govmomi-shaped JSON). */
export type RouterEvent = CloudEvent<Record<string, unknown>>;
