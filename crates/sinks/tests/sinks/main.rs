//! Integration tests of the sinks against local servers only: a scripted
//! HTTP server and moto_server, both on 127.0.0.1.

mod cloudwatch;
mod fanout;
mod instrumentation;
mod securityhub;
mod support;
mod webhook;
