/**
 * The NATS subject of an event: `<prefix>.<CloudEvent subject>`.
 *
 * A NATS subject is a list of tokens separated by `.`; a token may not be
 * empty nor hold whitespace, and `*` and `>` are wildcards. The CloudEvent
 * subject (the vSphere event class, `VmPoweredOnEvent`, or an EventEx's
 * eventTypeId, `com.vmware.vc.HA.ClusterFailoverActionCompletedEvent`) is
 * mapped so that:
 *  - its dots stay token separators: `com.vmware.vc.HA.X` becomes four more
 *    tokens, so a consumer may subscribe to `vsphere.events.com.vmware.>`;
 *  - whitespace, control characters, `*` and `>` become `_`;
 *  - an empty token (a leading, trailing or doubled dot) becomes `_`, and so
 *    does a missing or empty subject.
 */
export function natsSubject(prefix: string, subject: string | undefined): string {
  const tokens = (subject ?? '').split('.').map((t) => {
    // eslint-disable-next-line no-control-regex
    const clean = t.replace(/[\s\u0000-\u001f\u007f*>]/g, '_');
    return clean === '' ? '_' : clean;
  });
  return `${prefix}.${tokens.join('.')}`;
}

/** Whether a stream subject filter captures every subject under `prefix` (`prefix.>`). */
export function filterCovers(filter: string, prefix: string): boolean {
  const f = filter.split('.');
  const p = prefix.split('.');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '>') return true;
    if (i >= p.length) return false;
    if (f[i] !== '*' && f[i] !== p[i]) return false;
  }
  return false;
}
