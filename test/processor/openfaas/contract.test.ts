/** The sink contract (test/helpers/sink-contract.ts) for openfaas, against the test OpenFaaS gateway. */
import { CONTRACT_CLASSES, ContractProxy, sinkContract } from '../../helpers/sink-contract';
import { OpenFaasGateway } from '../../peers/openfaas-gateway';

sinkContract('openfaas', async () => {
  const gw = await OpenFaasGateway.start();
  gw.deploy({ name: 'contract', annotations: { topic: Object.values(CONTRACT_CLASSES).join(',') } });
  const proxy = await ContractProxy.start(gw.url);
  return {
    entry: {
      type: 'processor',
      provider: 'openfaas',
      address: proxy.url,
      auth: { method: 'basic_auth', secret: { ...gw.credentials } },
      options: { topic_refresh_interval: '1' },
    },
    accepted: (subject) =>
      gw
        .delivered()
        .filter((i) => i.headers['x-topic'] === subject)
        .map((i) => (i.body as { id: string }).id),
    attempts: (subject) => proxy.attempts(subject),
    close: async () => {
      await proxy.close();
      await gw.close();
    },
  };
});
