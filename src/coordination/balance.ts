/**
 * Which stream leases a replica should take or hand over, from what it sees
 * in the store. Every replica runs the same rule on (nearly) the same view,
 * so that with R live replicas and M streams each settles between
 * floor(M/R) and ceil(M/R) leases, without two replicas handing the same
 * stream back and forth:
 * - a free lease (released, or expired) is taken by a replica below floor,
 *   or below ceil when no live replica is below floor;
 * - a replica above ceil hands over its surplus;
 * - when some replica is below floor and no lease is free, the replica that
 *   holds the most (ties: the smallest identity) hands over one.
 */

export interface LeaseView {
  stream: string;
  /** Its holder, or undefined when the lease is free (released or expired). */
  holder: string | undefined;
}

export interface BalancePlan {
  /** Free leases to try to take, best first. */
  acquire: string[];
  /** Held leases to hand over. */
  release: string[];
}

export function balance(me: string, live: readonly string[], leases: readonly LeaseView[]): BalancePlan {
  const members = [...new Set([...live, me])].sort();
  const total = leases.length;
  const floor = Math.floor(total / members.length);
  const ceil = Math.ceil(total / members.length);
  const count = new Map<string, number>(members.map((m) => [m, 0]));
  for (const l of leases)
    if (l.holder !== undefined && count.has(l.holder)) count.set(l.holder, count.get(l.holder)! + 1);
  const mine = leases
    .filter((l) => l.holder === me)
    .map((l) => l.stream)
    .sort();
  const free = leases
    .filter((l) => l.holder === undefined)
    .map((l) => l.stream)
    .sort();
  const starving = members.some((m) => m !== me && count.get(m)! < floor);

  if (mine.length > ceil) return { acquire: [], release: mine.slice(ceil) };
  if (starving && free.length === 0 && mine.length > floor) {
    // One hands over at a time: the replica with the most leases, ties to the smallest identity.
    const richest = [...members].sort((a, b) => count.get(b)! - count.get(a)! || (a < b ? -1 : 1))[0];
    if (richest === me) return { acquire: [], release: [mine[mine.length - 1]] };
  }
  const room = (starving ? floor : ceil) - mine.length;
  return { acquire: room > 0 ? free.slice(0, room) : [], release: [] };
}
