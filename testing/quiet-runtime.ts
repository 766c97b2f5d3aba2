/** Keeps test output readable: the bundler and the worker log at INFO by default. Import before creating a worker. */
import { DefaultLogger, Runtime } from '@temporalio/worker';

Runtime.install({ logger: new DefaultLogger('WARN') });
