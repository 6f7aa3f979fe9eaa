//! Enrichment stages (`$https`, `$lookup`, `$cachedLookup`): each document gets what its connector answered at `as`; one
//! it could not answer goes to the DLQ, goes on unchanged, or fails the processor (`onError`).

use sluice_mql::{Str, Value};
use sluice_pipeline::{EnrichSpec, OnError};

use super::stateless::apply_stages;
use crate::{EnrichRequest, Enricher, Event, OpContext, Operator};

/// An operator for one enrichment stage.
pub(crate) struct EnrichOp {
    spec: EnrichSpec,
    enricher: Box<dyn Enricher>,
}

impl EnrichOp {
    pub(crate) fn new(spec: EnrichSpec, enricher: Box<dyn Enricher>) -> EnrichOp {
        EnrichOp { spec, enricher }
    }

    /// The request body of each event: its `payload` pipeline's output, or why there is none.
    fn payloads(&self, batch: &[Event], ctx: &mut OpContext) -> Vec<Result<Option<sluice_mql::Document>, String>> {
        if self.spec.payload.is_empty() {
            return batch.iter().map(|_| Ok(None)).collect();
        }
        batch
            .iter()
            .map(|ev| {
                let mut scratch = OpContext { scope: std::mem::take(&mut ctx.scope), ..Default::default() };
                let mut out = apply_stages(&self.spec.payload, "payload", vec![ev.clone()], &mut scratch);
                ctx.scope = scratch.scope;
                match (out.pop(), scratch.dlq.pop()) {
                    (Some(p), _) => Ok(Some(p.doc)),
                    (None, Some(d)) => Err(format!("payload: {}", d.reason)),
                    (None, None) => Err("payload: the pipeline filtered the document out".into()),
                }
            })
            .collect()
    }
}

impl Operator for EnrichOp {
    fn name(&self) -> &str {
        self.spec.stage
    }

    fn process(&mut self, batch: Vec<Event>, out: &mut Vec<Event>, ctx: &mut OpContext) {
        if batch.is_empty() || ctx.failure.is_some() {
            return;
        }
        let payloads = self.payloads(&batch, ctx);
        let asked: Vec<usize> = (0..batch.len()).filter(|i| payloads[*i].is_ok()).collect();
        let requests: Vec<EnrichRequest<'_>> = asked
            .iter()
            .map(|i| EnrichRequest { doc: &batch[*i].doc, payload: payloads[*i].clone().ok().flatten() })
            .collect();
        let mut answers = match self.enricher.enrich(&requests, &mut ctx.scope) {
            Ok(a) => a.into_iter(),
            Err(reason) => {
                ctx.failure = Some(format!("{}: {}", self.spec.stage, reason));
                return;
            }
        };
        drop(requests);
        let meta_key = Str::from(self.enricher.meta_key());
        for (ev, payload) in batch.into_iter().zip(payloads) {
            let answer = match payload {
                Err(reason) => Err(reason),
                Ok(_) => answers.next().unwrap_or_else(|| Err("the connector gave no answer".into())),
            };
            match answer {
                Ok(a) => {
                    let mut ev = ev;
                    ev.doc.set_path(self.spec.as_field.parts(), a.value);
                    if let Some(m) = a.meta {
                        ev.meta.get_or_insert_with(Default::default).insert(meta_key.clone(), Value::Document(m));
                    }
                    out.push(ev);
                }
                Err(reason) => match self.spec.on_error {
                    OnError::Dlq => ctx.dead_letter(self.spec.stage, reason, &ev),
                    OnError::Ignore => out.push(ev),
                    OnError::Fail => {
                        ctx.failure = Some(format!("{}: {}", self.spec.stage, reason));
                        return;
                    }
                },
            }
        }
    }
}
