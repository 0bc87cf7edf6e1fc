//! The SQS consumer against a local moto_server: every notification shape,
//! retries, heartbeats, backpressure and shutdown.
//!
//! Each test starts its own moto_server and uses a current-thread runtime,
//! so the thread-local metrics recorder sees everything the consumer
//! records and nothing from other tests.

mod lifecycle;
mod shapes;
mod support;
