/** Where the Durable Functions HTTP API of this runtime answers, as the Functions host hands it out. */
export interface DurableEndpoint {
  baseUrl: string;
  taskHub: string;
  systemKey: string;
}

/** The per-instance URLs (`createCheckStatusResponse`, the status API's Location). */
export function managementUrls(at: DurableEndpoint, instanceId: string) {
  const base = `${at.baseUrl}/runtime/webhooks/durabletask/instances/${encodeURIComponent(instanceId)}`;
  const q = `taskHub=${at.taskHub}&connection=Storage&code=${at.systemKey}`;
  return {
    id: instanceId,
    purgeHistoryDeleteUri: `${base}?${q}`,
    sendEventPostUri: `${base}/raiseEvent/{eventName}?${q}`,
    statusQueryGetUri: `${base}?${q}`,
    terminatePostUri: `${base}/terminate?reason={text}&${q}`,
    suspendPostUri: `${base}/suspend?reason={text}&${q}`,
    resumePostUri: `${base}/resume?reason={text}&${q}`,
    rewindPostUri: `${base}/rewind?reason={text}&${q}`,
  };
}

/** The `durableClient` input binding's data: what `df.getClient` builds its client from. */
export function durableClientData(at: DurableEndpoint, rpcToken: string) {
  const api = `${at.baseUrl}/runtime/webhooks/durabletask`;
  return {
    taskHubName: at.taskHub,
    creationUrls: {
      createNewInstancePostUri: `${api}/orchestrators/{functionName}[/{instanceId}]?code=${at.systemKey}`,
      createAndWaitOnNewInstancePostUri: `${api}/orchestrators/{functionName}[/{instanceId}]?timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}&code=${at.systemKey}`,
    },
    // The library substitutes the instance id for this placeholder.
    managementUrls: managementUrls(at, 'INSTANCEID'),
    baseUrl: api,
    requiredQueryStringParameters: `code=${at.systemKey}`,
    // The key travels as the URL's userinfo: the client sends it as basic authentication on every call.
    rpcBaseUrl: withUserInfo(`${at.baseUrl}/_rpc/${rpcToken}/durabletask/`, at.systemKey),
    httpBaseUrl: api,
  };
}

function withUserInfo(url: string, key: string): string {
  const u = new URL(url);
  u.username = 'durabletask';
  u.password = key;
  return u.href;
}
