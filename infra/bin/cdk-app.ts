/** The CDK CLI's app (infra/cdk.json): `cd infra && npx cdk deploy --parameters ...` synthesizes through here. */
import { pipelineApp } from '../app';

pipelineApp().synth();
