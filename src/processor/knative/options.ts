/** The options of a knative processor entry. */
import { boolOption, enumOption, intOption, type OptionsOf } from '../../config/options';
import { deliveryOptions } from '../../config/schema-parts';

export const knativeOptions = {
  encoding: enumOption(
    'CloudEvents HTTP content mode: `structured` (one JSON document, the default) or `binary` (attributes as ce- headers, data as body)',
    ['structured', 'binary'],
    'structured',
  ),
  insecure: boolOption('Skip TLS certificate verification of an https destination', false),
  // Events are posted concurrently; retries cover what src/util/http-outcome.ts calls transient.
  ...deliveryOptions({ maxInFlight: 16 }),
  timeout: intOption('Seconds before a request is abandoned (and retried)', 1, 30),
};

export type KnativeOptions = OptionsOf<typeof knativeOptions>;
