//! The splitter streams: a large object passes through without its size
//! showing up in the process's peak memory.
//!
//! This is its own test binary so that no other test shares the process
//! whose peak resident set is measured.

use std::io::{self, Read};

use trailwatch_ingest::{Limits, open_records};

/// About 1 KiB, shaped like a CloudTrail record.
const RECORD: &str = r#"{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:session","arn":"arn:aws:sts::111122223333:assumed-role/role/session","accountId":"111122223333","sessionContext":{"sessionIssuer":{"type":"Role","userName":"role"}}},"eventTime":"2024-05-01T12:00:00Z","eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.7","userAgent":"aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64","requestParameters":{"instancesSet":{},"filterSet":{"items":[{"name":"tag:Name","valueSet":{"items":[{"value":"web-1"},{"value":"web-2"},{"value":"web-3"}]}}]}},"responseElements":null,"requestID":"0d8f6c5e-1111-2222-3333-444455556666","eventID":"9e2f1a3b-7777-8888-9999-000011112222","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"111122223333","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"ec2.us-east-1.amazonaws.com"},"padding":"0123456789012345678901234567890123456789012345678901234567890123456789"}"#;

/// Produces `{"Records":[RECORD,RECORD,...]}` on demand, never holding more
/// than one record's text.
struct Generated {
    left: usize,
    pending: Vec<u8>,
    at: usize,
}

impl Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at == self.pending.len() {
            self.pending.clear();
            self.at = 0;
            match self.left {
                0 => return Ok(0),
                1 => self
                    .pending
                    .extend_from_slice(format!("{RECORD}]}}").as_bytes()),
                _ => self
                    .pending
                    .extend_from_slice(format!("{RECORD},").as_bytes()),
            }
            self.left -= 1;
        }
        let n = buf.len().min(self.pending.len() - self.at);
        buf[..n].copy_from_slice(&self.pending[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("procfs");
    let line = status
        .lines()
        .find(|line| line.starts_with("VmHWM:"))
        .expect("VmHWM line");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_large_object_streams_in_bounded_memory() {
    const RECORDS: usize = 96 * 1024;
    let before = peak_rss_kib();
    let source = Generated {
        left: RECORDS,
        pending: b"{\"Records\":[".to_vec(),
        at: 0,
    };
    let mut reader = open_records(source, Limits::default());
    let mut count = 0;
    let mut bytes = 0;
    for record in reader.by_ref() {
        let record = record.expect("generated records are valid");
        assert_eq!(record.index, count);
        bytes += record.text.len();
        count += 1;
    }
    let after = peak_rss_kib();

    assert_eq!(count, RECORDS);
    assert_eq!(bytes, RECORDS * RECORD.len());
    assert!(reader.bytes_read() > 96 * 1024 * 1024);
    // Roughly 100 MiB went through; the peak may grow by buffers, not by that.
    assert!(
        after - before < 16 * 1024,
        "peak RSS grew by {} KiB",
        after - before
    );
}
