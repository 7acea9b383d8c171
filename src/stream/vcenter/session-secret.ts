/**
 * The key of a vCenter session (the SOAP `vmware_soap_session` cookie's value,
 * the VI/JSON `vmware-api-session-id`) as a secret of the logger while it is
 * the client's session: whoever holds it acts as the logged-in user, so a
 * peer's text that echoes it (a fault string, a body that is not the
 * protocol's) is withheld by quotePeer like one echoing the password. A new
 * Login replaces it; Logout (or the client's close) forgets it.
 */
import { holdSecret } from '../../log/logger';

export class SessionSecret {
  private key?: string;
  private release?: () => void;

  /** The current session key; undefined when there is no session. */
  set(key: string | undefined): void {
    if (key === this.key) return;
    this.release?.();
    this.release = undefined;
    this.key = key || undefined;
    if (this.key) this.release = holdSecret(this.key);
  }
}
