/**
 * The AWS account and region local mode pretends to be: moto's default account, so ARNs minted by moto and by the local
 * service look alike.
 */
export const REGION = 'us-east-1';
/** moto's default account ID. */
export const ACCOUNT_ID = '123456789012';
