import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { type DeploymentConfig, loadDeploymentConfig } from './config';
import { PipelineStack } from './pipeline-stack';

const app = new App();
// cdk-nag's AWS Solutions rules run on every synth: an unacknowledged error fails it. Findings are
// acknowledged next to the resource they are about, with the reason, via Validations.acknowledge.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));

let config: DeploymentConfig;
try {
  config = loadDeploymentConfig(app);
} catch (error) {
  // A configuration mistake is the operator's to fix: show the message naming the field, not a
  // stack trace through the loader.
  console.error((error as Error).message);
  process.exit(1);
}

new PipelineStack(app, config.stackName, {
  stackName: config.stackName,
  settings: config.settings,
  firstMessages: config.firstMessages,
  // Both unset (no credentials, e.g. CI synth) gives an environment-agnostic stack.
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  description: 'Login Connect with Messenger: webhook → SQS → first message → DynamoDB',
});
