import { app } from '@azure/functions';

describe('the local runtime’s @azure/functions-core', () => {
  it('refuses app hooks it would not run, naming the hook', () => {
    expect(() => app.hook.preInvocation(() => undefined)).toThrow(
      /does not run app hooks: 'preInvocation' was registered/,
    );
  });
});
