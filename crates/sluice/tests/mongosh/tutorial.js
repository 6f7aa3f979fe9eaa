// The Atlas Stream Processing tutorial in mongosh, against `sluice serve --mongodb-listen`:
// list connections, create a windowed processor on the solar sample, start it, read its stats,
// sample it (bounded by `limit`, so the sample loop ends by itself), stop it, modify it, start it
// on another tier, stop and drop it.
// Any failed check throws, and mongosh exits non-zero.

function check(cond, what) {
  if (!cond) {
    throw new Error('check failed: ' + what);
  }
}

const connections = sp.listConnections();
check(connections.some((c) => c.name === 'sample_stream_solar'), 'the solar sample connection is listed');

sp.createStreamProcessor('solarDemo', [
  { $source: { connectionName: 'sample_stream_solar' } },
  {
    $tumblingWindow: {
      interval: { size: 1, unit: 'second' },
      pipeline: [{ $group: { _id: '$group_id', avgWatts: { $avg: '$obs.watts' } } }],
    },
  },
]);
const created = sp.listStreamProcessors({ name: 'solarDemo' });
check(created.length === 1 && created[0].state === 'CREATED', 'the new processor is listed as CREATED');

sp.solarDemo.start();
let stats;
for (let i = 0; i < 150; i++) {
  stats = sp.solarDemo.stats();
  if (stats.stats.outputMessageCount >= 2) {
    break;
  }
  sleep(200);
}
check(stats.ok === 1 && stats.stats.status === 'STARTED', 'stats of the running processor');
check(stats.stats.outputMessageCount >= 2, 'the processor has written windows');
print('stats: outputMessageCount=' + stats.stats.outputMessageCount);

// Prints two window documents, then returns (the cursor ends at the limit).
sp.solarDemo.sample({ limit: 2 });

sp.solarDemo.stop();
check(sp.listStreamProcessors({ name: 'solarDemo' })[0].state === 'STOPPED', 'stopped');

// Change the pipeline of the stopped processor (dropping its window state), start it on
// another tier, and see both.
sp.solarDemo.modify(
  [
    { $source: { connectionName: 'sample_stream_solar' } },
    { $match: { 'obs.watts': { $gte: 0 } } },
  ],
  { resumeFromCheckpoint: false }
);
const modified = sp.listStreamProcessors({ name: 'solarDemo' })[0];
check(modified.pipeline.length === 2 && modified.pipeline[1].$match !== undefined, 'the new pipeline is kept');
sp.solarDemo.start({ tier: 'SP10' });
const restarted = sp.listStreamProcessors({ name: 'solarDemo' })[0];
check(restarted.state === 'STARTED' && restarted.tier === 'SP10', 'started again on SP10');
sp.solarDemo.stop();
sp.solarDemo.drop();
check(sp.listStreamProcessors().length === 0, 'dropped');

// sp.process: an ephemeral processor on live data, printed up to its limit, then dropped.
sp.process([{ $source: { connectionName: 'sample_stream_solar' } }], { limit: 2 });
check(sp.listStreamProcessors().length === 0, 'the ephemeral processor is gone');

// An invalid pipeline is a MongoServerError naming the stage, and nothing hangs.
let refused = null;
try {
  sp.createStreamProcessor('bad', [{ $source: { connectionName: 'sample_stream_solar' } }, { $nope: 1 }]);
} catch (e) {
  refused = e;
}
check(
  refused !== null && refused.name === 'MongoServerError' && refused.code === 9,
  'an invalid pipeline is refused: ' + (refused === null ? 'no error' : refused.name + ' ' + refused.code + ' ' + refused.message)
);
check(String(refused.message).includes('$nope'), 'the error names the stage');

print('mongosh tutorial passed');
