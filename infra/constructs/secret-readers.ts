import * as iam from 'aws-cdk-lib/aws-iam';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';

/**
 * Denies `secretsmanager:GetSecretValue` on `secret` to every principal whose ARN matches none of
 * `readerArns` (wildcards allowed), whatever its IAM policies allow. The readers still need an
 * Allow of their own (e.g. `secret.grantRead`): this only takes access away.
 *
 * Writing the value (`PutSecretValue`) and changing or deleting the resource policy are left to
 * IAM, so an administrator can always undo this; nobody can be locked out for good.
 */
export function denyOtherSecretReaders(
  secret: secretsmanager.ISecret,
  readerArns: readonly string[],
): void {
  secret.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'OnlyTheFunctionsAndNamedOperatorsReadTheValue',
      effect: iam.Effect.DENY,
      principals: [new iam.AnyPrincipal()],
      actions: ['secretsmanager:GetSecretValue'],
      resources: ['*'],
      // For an assumed-role session, aws:PrincipalArn is the role's ARN, not the session's.
      conditions: { ArnNotLike: { 'aws:PrincipalArn': [...readerArns] } },
    }),
  );
}
