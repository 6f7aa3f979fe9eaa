//! A partition's end offset as librdkafka last heard it from a fetch response, without asking
//! the broker (`rd_kafka_get_watermark_offsets`, which the Rust wrapper does not expose).

use std::ffi::CString;

use rdkafka::bindings::{rd_kafka_get_watermark_offsets, rd_kafka_resp_err_t};
use rdkafka::consumer::{BaseConsumer, Consumer};

/// The high watermark of `topic`/`partition` from the consumer's cache, if it has one.
#[allow(unsafe_code)]
pub(crate) fn cached_high_watermark(consumer: &BaseConsumer, topic: &str, partition: i32) -> Option<i64> {
    let topic = CString::new(topic).ok()?;
    let (mut low, mut high) = (-1i64, -1i64);
    // SAFETY: the client pointer is valid for as long as `consumer` lives, which outlasts this
    // call; `topic` is a NUL-terminated string that lives until the end of the function, and
    // `low`/`high` are valid for writes. The call only reads librdkafka's cached offsets.
    let err = unsafe {
        rd_kafka_get_watermark_offsets(consumer.client().native_ptr(), topic.as_ptr(), partition, &mut low, &mut high)
    };
    (err == rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR && high >= 0).then_some(high)
}
