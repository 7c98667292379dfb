// The tf.io.IOHandler for a TF.js layers-model whose files are already at
// hand (IndexedDB, a package's folder, memory): what tfjs's http loader
// would assemble, i.e. the topology, every group's weight specs, and every
// group's shards back to back in order. The one copy of this logic: the sync
// library, the npm package and the parity tests all load models through it.
//
//   tf.loadLayersModel(layersModelHandler(modelJson, (path) => bytesOf(path)))
//
// `shard(path)` returns the file's bytes (ArrayBuffer or a Uint8Array view),
// or a promise of them.

export function layersModelHandler(modelJson, shard) {
  return {
    async load() {
      const weightSpecs = [];
      const paths = [];
      for (const group of modelJson.weightsManifest ?? []) {
        weightSpecs.push(...group.weights);
        paths.push(...group.paths);
      }
      const shards = await Promise.all(paths.map(async (path) => {
        const bytes = await shard(path);
        if (bytes === undefined || bytes === null) throw new Error(`model.json names ${path}, which the bundle lacks`);
        return bytes instanceof ArrayBuffer ? new Uint8Array(bytes) : bytes;
      }));
      return {
        modelTopology: modelJson.modelTopology,
        format: modelJson.format,
        generatedBy: modelJson.generatedBy,
        convertedBy: modelJson.convertedBy,
        weightSpecs,
        weightData: concatenate(shards),
      };
    },
  };
}

// One ArrayBuffer of all shards. A single shard that spans its whole buffer
// (an IndexedDB record, a fresh download) is handed over as it is, without
// a copy.
function concatenate(shards) {
  if (shards.length === 1 && shards[0].byteOffset === 0 && shards[0].byteLength === shards[0].buffer.byteLength) {
    return shards[0].buffer;
  }
  const all = new Uint8Array(shards.reduce((sum, bytes) => sum + bytes.byteLength, 0));
  let offset = 0;
  for (const bytes of shards) {
    all.set(bytes, offset);
    offset += bytes.byteLength;
  }
  return all.buffer;
}
