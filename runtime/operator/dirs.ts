import * as fs from "node:fs";
import * as path from "node:path";
import { sharedLayout, type SharedLayout } from "../sharedLayout.js";
import { NotFound } from "./errors.js";

/** The two directories every operator call works on, given explicitly by the caller. */
export interface OperatorDirs {
  /** The fleet's shared dir (tasks, proposals, status, logs). */
  shared: string;
  /** The decisions dir (only operators write it). */
  decisions: string;
}

/** The layout of an existing shared dir; NotFound when it does not exist. */
export function openShared(shared: string): SharedLayout {
  const layout = sharedLayout(shared);
  if (!fs.existsSync(layout.root)) throw new NotFound(`shared dir ${layout.root} does not exist`);
  return layout;
}

/** An existing decisions dir, resolved; NotFound when it does not exist. */
export function openDecisions(decisions: string): string {
  const dir = path.resolve(decisions);
  if (!fs.existsSync(dir)) throw new NotFound(`decisions dir ${dir} does not exist`);
  return dir;
}
