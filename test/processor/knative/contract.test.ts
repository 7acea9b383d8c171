/** The sink contract (test/helpers/sink-contract.ts) for knative, against a CloudEvents receiver. */
import { ContractProxy, sinkContract } from '../../helpers/sink-contract';
import { CloudEventsReceiver } from '../../peers/cloudevents-receiver';

sinkContract('knative', async () => {
  const receiver = await CloudEventsReceiver.start();
  const proxy = await ContractProxy.start(receiver.url);
  return {
    entry: { type: 'processor', provider: 'knative', address: proxy.url, auth: { method: 'none' } },
    accepted: (subject) =>
      receiver.received.filter((r) => r.event.subject === subject).map((r) => r.event.id),
    attempts: (subject) => proxy.attempts(subject),
    close: async () => {
      await proxy.close();
      await receiver.close();
    },
  };
});
