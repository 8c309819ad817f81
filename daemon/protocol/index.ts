/**
 * The Zavhoz protocol: every request and notification, declared once and imported by the daemon, the CLI and
 * the extension. No method name is spelled anywhere else.
 */
export * from './define.js';
export * from './fields.js';
export * from './errors.js';
export * from './lifecycle.js';
export * from './settings.js';
export * from './secrets.js';
export * from './audit.js';
export * from './servers.js';
export * from './allocations.js';
export * from './env.js';
export * from './runs.js';
export * from './releases.js';
export * from './shell.js';
export * from './remote.js';
export * from './github.js';
export * from './agent.js';
export * from './services.js';
export * from './undeploy.js';
export * from './rotation.js';
export * from './notify.js';
export * from './domains.js';
export * from './exec.js';
export * from './approvals.js';
export * from './agentLimits.js';
export * from './vault.js';
export * from './team.js';
export * from './deploy.js';
