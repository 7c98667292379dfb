// Types of a Kiln model's npm package (node: index.js, browsers: browser.mjs).
import type { LayersModel } from '@tensorflow/tfjs';

export interface Prediction {
  label: string;
  probability: number;
}

export interface LoadedModel {
  model: LayersModel;
  /** text -> the model's input: max_length ids, or a tfidf model's vocab_size features. */
  preprocess(text: string): number[] | Float32Array;
  classes: string[];
}

/** Loads the model once; later calls resolve with the same one. */
export function load(): Promise<LoadedModel>;
/** The k (default 5) most probable classes of `text`, most probable first. */
export function predict(text: string, k?: number): Promise<Prediction[]>;
/** The registry's version number of this model. */
export const VERSION: number;
export const CLASSES: string[];
