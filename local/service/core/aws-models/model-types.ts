/**
 * The parts of botocore's service-2.json format (AWS's published API models, one per service and API version) that
 * request validation reads: operations with their input shape and HTTP binding, shapes with their constraints.
 */

/** A reference from a member, list element, map key or value to a shape, with its HTTP binding. */
export interface ShapeRef {
  shape: string;
  /** REST protocols: where the member travels (`uri` path label, `header`, `querystring`, …); absent: the body. */
  location?: 'uri' | 'header' | 'headers' | 'querystring' | 'statusCode';
  locationName?: string;
  jsonvalue?: boolean;
  idempotencyToken?: boolean;
}

/** Shape types of botocore models. */
export type ShapeType =
  'structure' | 'list' | 'map' | 'string' | 'integer' | 'long' | 'float' | 'double' | 'boolean' | 'timestamp' | 'blob';

/** One shape with its constraints (`min`/`max` are lengths for strings, blobs, lists and maps, values for numbers). */
export interface Shape {
  type: ShapeType;
  required?: string[];
  members?: Record<string, ShapeRef>;
  member?: ShapeRef;
  key?: ShapeRef;
  value?: ShapeRef;
  min?: number;
  max?: number;
  pattern?: string;
  enum?: string[];
  sensitive?: boolean;
  union?: boolean;
  document?: boolean;
  streaming?: boolean;
  payload?: string;
  exception?: boolean;
}

/** One operation: its HTTP binding and input shape. */
export interface Operation {
  name: string;
  http: { method: string; requestUri: string };
  input?: ShapeRef;
}

/** A whole service model. */
export interface ServiceModel {
  metadata: {
    apiVersion: string;
    protocol: string;
    protocols?: string[];
    serviceId: string;
    endpointPrefix: string;
    targetPrefix?: string;
    jsonVersion?: string;
  };
  operations: Record<string, Operation>;
  shapes: Record<string, Shape>;
}
