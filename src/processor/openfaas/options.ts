/** The options of an openfaas processor entry. */
import { boolOption, intOption, type OptionsOf } from '../../config/options';
import { deliveryOptions } from '../../config/schema-parts';

export const openfaasOptions = {
  async: boolOption('Invoke through /async-function/ (202 expected) instead of waiting', false),
  // Invocations run concurrently, like the original's; retries cover what src/util/http-outcome.ts
  // calls transient.
  ...deliveryOptions({ maxInFlight: 32 }),
  timeout: intOption('Seconds before an invocation is abandoned', 1, 30),
  topic_refresh_interval: intOption('Seconds between topic map rebuilds', 1, 10),
};

export type OpenFaasOptions = OptionsOf<typeof openfaasOptions>;
