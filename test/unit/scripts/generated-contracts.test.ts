import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderInstanceTypes, renderSpecJsonSchema } from '../../../scripts/render-contracts';

const read = (file: string) => readFileSync(join(__dirname, '../../../contracts', file), 'utf8');

describe('generated contract files are current (run `npm run schema:generate` when this fails)', () => {
  it('pipeline-spec.schema.json matches the zod schema', () => {
    expect(read('pipeline-spec.schema.json')).toBe(renderSpecJsonSchema());
  });

  it('instance-types.generated.ts matches the SageMaker SDK enums', () => {
    expect(read('instance-types.generated.ts')).toBe(renderInstanceTypes());
  });

  it('the JSON schema forbids unknown keys and documents the training default', () => {
    const schema = JSON.parse(read('pipeline-spec.schema.json'));
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.training.properties.instanceType.default).toBe('ml.p4de.24xlarge');
  });
});
