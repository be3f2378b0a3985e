import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { quote } from "shell-quote";
import type { DockerHost } from "../hosts/dockerHost.js";
import { readScript, shellProgram, shellWord } from "../hosts/shell.js";
import { agentctlWrapperScript } from "./agentctlWrapper.js";
import { idleWakerProgram, idleWakerUnit, idleWakerUnitName } from "./idleWaker.js";
import { codeFiles, dockerContextFiles, hashFileSet, writeArchive } from "./buildContext.js";
import {
  builtImageTag,
  containerCreateProgram,
  containerRemoveProgram,
  envFileContent,
  runStateProgram,
} from "./containerCommands.js";
import { DEFAULT_NETWORK, type AgentResources } from "../config/defaults.js";
import type { NetworkSetting } from "../contract/egress.js";
import { containerName, containerSpec, egressProxySpec, type ContainerSpec } from "./spec.js";
import {
  consoleContainerName,
  consoleNetworkProgram,
  consoleRemoveProgram,
  consoleSpec,
  consoleNotifyFile,
  consoleTokensFile,
  consoleUrl,
} from "./console.js";
import type { AgentBudget, AgentReviewers } from "../contract/env.js";

/** A script of this component (`fleet/scripts/`). */
const fleetScript = (file: string) => readScript(__dirname, file);

/** One agent, as the config layer resolves it; secret values are Pulumi secret Outputs. */
export interface FleetAgentArgs {
  name: string;
  /** The agent's code folder on the machine running Pulumi; seeded onto the host once. */
  codeDir: string;
  /** Effective approval mode (the stack's switch or the agent's override). */
  approvalRequired: boolean;
  capabilities: string[];
  /** Plain environment. Secrets never go here. */
  env: Record<string, string>;
  /** Delivered in `<root>/secrets/<name>.env` (mode 0600) through the command's stdin. */
  secrets: { name: string; value: pulumi.Input<string> }[];
  resources: AgentResources;
  /** none, full or an allow-list (enforced by the fleet's egress proxy). Default DEFAULT_NETWORK. */
  network?: NetworkSetting;
  taskTimeoutSeconds?: number;
  /** May propose binary files and symlinks (AGENT_ALLOW_BINARY); default false. */
  allowBinary?: boolean;
  /** Spending limits, as environment of the runtime (a change recreates the container). */
  budget?: AgentBudget;
  /** Distinct human approvers per proposal (a change recreates the container). */
  reviewApprovals?: number;
  /** A coordinator: may queue tasks through $TASK_OUTBOX. */
  canCreateTasks?: boolean;
  /** Reviewer agents of its proposals (a change recreates the container). */
  reviewers?: AgentReviewers;
  /** Idle scale-down: minutes with nothing to claim before the host's waker stops it; never when absent. */
  idleAfterMinutes?: number;
  /** Stop this agent's container alone (the fleet's `paused` stops them all). Default false. */
  paused?: boolean;
  /** Changing it pushes `codeDir` onto the host again as one new commit (see docs/program.md). */
  codeRevision?: string;
  /** Shared projects this agent works on (names in `DockerHostFleetArgs.projects`); only these are mounted. */
  projects?: string[];
}

/** A shared project: seeded once as a bare git repository at `<root>/projects/<name>`. */
export interface FleetProjectArgs {
  name: string;
  /** The project's folder on the machine running Pulumi (its first commit). */
  sourceDir: string;
  /** The branch its agents commit to. */
  branch: string;
  /** Where its runtimes push applied commits (optional). */
  remote?: string;
}

export type FleetImageArgs =
  /** A ready image from a registry; pulled on the host when absent. */
  | { ref: string }
  | {
      build: {
        /** Build context: the repository root (filtered by its .dockerignore allow-list). */
        context: string;
        /** Relative to the context. Default "agent-image/Dockerfile". */
        dockerfile?: string;
        /** BASE_IMAGE build arg; the Dockerfile's default when absent. */
        baseImage?: string;
        /** More build args (e.g. the coding CLI switch). */
        buildArgs?: Record<string, string>;
      };
    };

export interface DockerHostFleetArgs {
  /** LocalHost or SshHost (ExoscaleVps hands over an SshHost). */
  host: DockerHost;
  /** Prefixes container names and the image repository. A lowercase DNS label. */
  fleetName: string;
  agents: FleetAgentArgs[];
  /** Shared projects; each is mounted only into the agents that list it. Default none. */
  projects?: FleetProjectArgs[];
  image: FleetImageArgs;
  /** Stop every container (code, queue, history untouched). Default false. */
  paused?: boolean;
  /**
   * Delete the fleet's files (code with history, shared dir, decisions, secrets) on destroy.
   * Default false: `pulumi destroy` removes the containers and keeps the data.
   */
  purgeOnDestroy?: boolean;
  /**
   * Local folder for the archives uploaded to hosts that do not see local files.
   * Default `<build context or cwd>/.agent-fleet/.build/<fleetName>`.
   */
  archiveDir?: string;
  /**
   * The review console as its own container (fleet/console.ts); none when absent. The tokens
   * (name -> token) are a secret: they reach the host on stdin only.
   */
  console?: {
    port: number;
    tokens: pulumi.Input<Record<string, string>>;
    /** The stack's `notify` sinks with their secrets (fleet/console.ts consoleNotifyFile); none: no notifications. */
    notify?: pulumi.Input<unknown[]>;
  };
}

export interface FleetAgentOutput {
  name: string;
  approvalRequired: boolean;
  /** "approval required" or "autonomous". */
  approvalMode: string;
  container: string;
  /** "running" or "paused". */
  state: string;
  /** The agent's code folder on the host (a git repo the runtime commits to). */
  codeDir: string;
}

/**
 * An agent fleet on one Docker host: the agent image (built on the host from the repository, or
 * pulled), the fleet's folders, each agent's code (seeded once), secrets env-files, and one
 * container resource per agent whose triggers carry that agent's full container spec, so a preview
 * names exactly the agents whose spec changes. A separate run-state step per agent starts or stops
 * (pause) the container without recreating it.
 */
export class DockerHostFleet extends pulumi.ComponentResource {
  /** The image every container runs. */
  readonly image: pulumi.Output<string>;
  readonly agents: pulumi.Output<FleetAgentOutput[]>;
  /** Ready-to-paste operator commands (run on the host through SSH, or locally). */
  readonly agentctl: pulumi.Output<Record<string, string>>;
  /** Container specs by agent name, as put into the container resources' triggers. */
  readonly specs: Record<string, ContainerSpec>;
  /** Container resources by agent name. */
  readonly containers: Record<string, pulumi.CustomResource>;
  /** The egress proxy's spec, when some agent has an allow-list. */
  readonly egressSpec: ContainerSpec | undefined;
  /** The console container's spec and its address on the host (when the fleet runs one). */
  readonly console?: { spec: ContainerSpec; container: pulumi.CustomResource; url: pulumi.Output<string> };

  constructor(name: string, args: DockerHostFleetArgs, opts?: pulumi.ComponentResourceOptions) {
    super("agent-fleet:fleet:DockerHostFleet", name, {}, opts);
    const { host, fleetName } = args;
    const layout = host.layout;
    const paused = args.paused ?? false;
    const purge = args.purgeOnDestroy ?? false;
    const child = (deps: pulumi.Input<pulumi.Resource>[], extra: pulumi.CustomResourceOptions = {}) => ({
      parent: this,
      dependsOn: deps,
      ...extra,
    });
    const archiveDir =
      args.archiveDir ??
      path.join("build" in args.image ? args.image.build.context : process.cwd(), ".agent-fleet", ".build", fleetName);

    // --- the agent image ----------------------------------------------------------------------
    const { image, step: imageStep } = agentImageStep(name, host, args.image, fleetName, archiveDir, child(host.ready));
    this.image = pulumi.output(imageStep.urn).apply(() => image);

    // --- the fleet's folders, and what destroy does with them ---------------------------------
    const dirs = host.command(
      `${name}-dirs`,
      {
        create: shellProgram(fleetScript("prepare-dirs.sh"), {
          AF_ROOT: layout.root,
          AF_IMAGE: image,
          AF_HELPER: fleetScript("prepare-dirs-helper.sh"),
          // Socket folders of allow-listed agents: they must exist before a container mounts one.
          AF_EGRESS_AGENTS: args.agents
            .filter((a) => a.network?.mode === "allow")
            .map((a) => a.name)
            .join(" "),
        }),
        ...(purge ? { delete: shellProgram(fleetScript("purge.sh"), { AF_ROOT: layout.root, AF_IMAGE: image }) } : {}),
      },
      child([imageStep]),
    );

    host.command(
      `${name}-agentctl`,
      {
        create: shellProgram(fleetScript("write-file.sh"), { AF_PATH: host.agentctlPath, AF_MODE: "0755" }),
        stdin: agentctlWrapperScript({
          image,
          hostRoot: layout.root,
          ...(args.console ? { socket: layout.operatorSocket } : {}),
        }),
      },
      child([dirs]),
    );

    // --- the egress proxy, only when some agent has an allow-list ------------------------------
    this.egressSpec = egressProxySpec({
      fleet: fleetName,
      image,
      hostRoot: layout.root,
      agents: args.agents.map((a) => ({ name: a.name, network: a.network ?? DEFAULT_NETWORK })),
    });
    const agentDeps: pulumi.Resource[] = [];
    if (this.egressSpec) {
      const egress = host.command(
        `${name}-egress`,
        {
          create: `${containerCreateProgram(this.egressSpec)}\n${runStateProgram(this.egressSpec.name, false)}`,
          delete: containerRemoveProgram(this.egressSpec.name),
          triggers: [this.egressSpec],
        },
        child([imageStep, dirs], { deleteBeforeReplace: true }),
      );
      agentDeps.push(egress);
    }

    // --- the review console: its own container, the only one besides agentctl that decides --------
    if (args.console) {
      const tokens = host.command(
        `${name}-console-tokens`,
        {
          create: shellProgram(fleetScript("write-console-tokens.sh"), { AF_ROOT: layout.root, AF_IMAGE: image }),
          stdin: pulumi.secret(pulumi.output(args.console.tokens).apply(consoleTokensFile)),
          logging: "none",
        },
        // A new token is a new file and, through the trigger below, a new console (it reads the file at start).
        child([dirs], { replaceOnChanges: ["stdin"], deleteBeforeReplace: true, additionalSecretOutputs: ["stdin"] }),
      );
      // The notification sinks: a secret file next to the tokens, written the same way.
      const notify = args.console.notify
        ? host.command(
            `${name}-console-notify`,
            {
              create: shellProgram(fleetScript("write-console-tokens.sh"), {
                AF_ROOT: layout.root,
                AF_IMAGE: image,
                AF_FILE: "notify.json",
              }),
              stdin: pulumi.secret(
                pulumi.output(args.console.notify).apply((sinks) => consoleNotifyFile(fleetName, sinks)),
              ),
              logging: "none",
            },
            child([dirs], {
              replaceOnChanges: ["stdin"],
              deleteBeforeReplace: true,
              additionalSecretOutputs: ["stdin"],
            }),
          )
        : undefined;
      const spec = consoleSpec({
        fleet: fleetName,
        image,
        hostRoot: layout.root,
        port: args.console.port,
        ...(notify ? { notify: true } : {}),
        // Locally the operator is whoever runs Pulumi (and owns the fleet's folder); over SSH, root.
        ...(host.kind === "local" && process.getgid ? { socketGroup: process.getgid() } : {}),
      });
      const container = host.command(
        `${name}-console`,
        {
          create: [consoleNetworkProgram(fleetName), containerCreateProgram(spec)].join("\n"),
          delete: consoleRemoveProgram(fleetName),
          triggers: [spec, tokens.id, ...(notify ? [notify.id] : [])],
        },
        child([imageStep, dirs, tokens, ...(notify ? [notify] : [])], { deleteBeforeReplace: true }),
      );
      const run = host.command(
        `${name}-console-run`,
        { create: runStateProgram(consoleContainerName(fleetName), false), triggers: [container.id] },
        child([container]),
      );
      this.console = {
        spec,
        container,
        url: pulumi.output(run.urn).apply(() => consoleUrl(args.console!.port)),
      };
    }

    // --- shared projects, each seeded once --------------------------------------------------------
    const projectSeeds = new Map<string, pulumi.Resource>();
    for (const project of args.projects ?? []) {
      const prefix = `${name}-project-${project.name}`;
      let source = project.sourceDir;
      const deps: pulumi.Resource[] = [dirs];
      if (!host.seesLocalFiles) {
        const files = codeFiles(project.sourceDir);
        const archive = writeArchive(files, archiveDir, `project-${project.name}`, hashFileSet(files));
        source = `${host.uploadDir}/project-${project.name}.tar`;
        deps.push(host.upload(`${prefix}-upload`, archive, source, child(host.ready)));
      }
      projectSeeds.set(
        project.name,
        host.command(
          prefix,
          {
            create: shellProgram(fleetScript("seed-project.sh"), {
              AF_ROOT: layout.root,
              AF_PROJECT: project.name,
              AF_BRANCH: project.branch,
              AF_REMOTE: project.remote ?? "",
              AF_IMAGE: image,
              AF_SOURCE: source,
              AF_HELPER: fleetScript("seed-project-helper.sh"),
              ...(host.kind === "ssh" ? { AF_TRUST: fleetScript("trust-code-dir.sh") } : {}),
            }),
          },
          child(deps),
        ),
      );
    }

    // --- one agent at a time -------------------------------------------------------------------
    this.specs = {};
    this.containers = {};
    const outputs: FleetAgentOutput[] = [];
    const runSteps: pulumi.Resource[] = [];
    for (const agent of args.agents) {
      const cname = containerName(fleetName, agent.name);
      const prefix = `${name}-${agent.name}`;

      let source = agent.codeDir;
      const seedDeps: pulumi.Resource[] = [dirs];
      if (!host.seesLocalFiles) {
        const files = codeFiles(agent.codeDir);
        const archive = writeArchive(files, archiveDir, `code-${agent.name}`, hashFileSet(files));
        source = `${host.uploadDir}/code-${agent.name}.tar`;
        seedDeps.push(host.upload(`${prefix}-code-upload`, archive, source, child(host.ready)));
      }
      const seed = host.command(
        `${prefix}-code`,
        {
          create: shellProgram(fleetScript("seed-code.sh"), {
            AF_ROOT: layout.root,
            AF_AGENT: agent.name,
            AF_CONTAINER: cname,
            AF_IMAGE: image,
            AF_SOURCE: source,
            AF_REVISION: agent.codeRevision ?? "",
            AF_HELPER: fleetScript("seed-code-helper.sh"),
            // A host of its own (ssh, as root): the operator may read the folder with git. Never on
            // a workstation, whose system settings the fleet leaves alone.
            ...(host.kind === "ssh" ? { AF_TRUST: fleetScript("trust-code-dir.sh") } : {}),
          }),
        },
        child(seedDeps),
      );

      let secretsFile: pulumi.CustomResource | undefined;
      if (agent.secrets.length > 0) {
        const file = layout.secretsFile(agent.name);
        const names = agent.secrets.map((s) => s.name);
        const content = pulumi.all(agent.secrets.map((s) => pulumi.output(s.value))).apply((values) =>
          envFileContent(
            values.map((value, i) => ({ name: names[i]!, value })),
            agent.name,
          ),
        );
        secretsFile = host.command(
          `${prefix}-secrets`,
          {
            create: shellProgram(fleetScript("write-file.sh"), { AF_PATH: file, AF_MODE: "0600", AF_DIR_MODE: "0700" }),
            delete: `rm -f ${quote([file])}`,
            stdin: pulumi.secret(content),
            logging: "none",
          },
          // A new value is a new file (and, through the trigger below, a new container: Docker
          // reads env-files only when it creates one). Delete first: both write the same path.
          child([dirs], { replaceOnChanges: ["stdin"], deleteBeforeReplace: true, additionalSecretOutputs: ["stdin"] }),
        );
      }

      const spec = containerSpec({
        name: agent.name,
        fleet: fleetName,
        image,
        hostRoot: layout.root,
        approvalRequired: agent.approvalRequired,
        capabilities: agent.capabilities,
        env: agent.env,
        hasSecrets: agent.secrets.length > 0,
        resources: agent.resources,
        network: agent.network ?? DEFAULT_NETWORK,
        ...(agent.taskTimeoutSeconds !== undefined ? { taskTimeoutSeconds: agent.taskTimeoutSeconds } : {}),
        ...(agent.allowBinary ? { allowBinary: true } : {}),
        ...(agent.projects && agent.projects.length > 0 ? { projects: agent.projects } : {}),
        ...(agent.budget ? { budget: agent.budget } : {}),
        ...(agent.reviewApprovals !== undefined ? { reviewApprovals: agent.reviewApprovals } : {}),
        ...(agent.canCreateTasks ? { canCreateTasks: true } : {}),
        ...(agent.reviewers ? { reviewers: agent.reviewers } : {}),
        ...(agent.idleAfterMinutes !== undefined ? { idleAfterMinutes: agent.idleAfterMinutes } : {}),
      });
      this.specs[agent.name] = spec;
      const seeds = (agent.projects ?? []).map((p) => {
        const seeded = projectSeeds.get(p);
        if (!seeded) throw new Error(`agent ${agent.name}: project "${p}" is not one of the fleet's projects`);
        return seeded;
      });
      const container = host.command(
        `${prefix}-container`,
        {
          create: containerCreateProgram(spec),
          delete: containerRemoveProgram(cname),
          triggers: [spec, ...(secretsFile ? [secretsFile.id] : [])],
        },
        // The name is fixed, so the old container must go before the new one is created.
        child([imageStep, seed, ...seeds, ...agentDeps, ...(secretsFile ? [secretsFile] : [])], {
          deleteBeforeReplace: true,
        }),
      );
      this.containers[agent.name] = container;

      // Pausing one agent changes only its run-state step: the container (and its spec) stays.
      const agentPaused = paused || agent.paused === true;
      runSteps.push(
        host.command(
          `${prefix}-run`,
          { create: runStateProgram(cname, agentPaused), triggers: [agentPaused, container.id] },
          child([container]),
        ),
      );

      outputs.push({
        name: agent.name,
        approvalRequired: agent.approvalRequired,
        approvalMode: approvalModeName(agent.approvalRequired),
        container: cname,
        state: agentPaused ? "paused" : "running",
        codeDir: layout.agentCodeDir(agent.name),
      });
    }

    // --- idle scale-down: the host-side waker (root on SSH hosts; never a container) -------------
    if (args.agents.some((a) => a.idleAfterMinutes !== undefined)) {
      const program = idleWakerProgram({
        fleet: fleetName,
        layout,
        // Paused agents are left out: the waker never starts them.
        agents: paused
          ? []
          : args.agents.filter((a) => !a.paused).map((a) => ({ name: a.name, capabilities: a.capabilities })),
      });
      // SSH hosts run it as a systemd service (root, at boot); the local target only installs it.
      const unit = host.kind === "ssh" ? idleWakerUnitName(fleetName) : "";
      const params = {
        AF_PATH: layout.idleWaker,
        AF_UNIT: unit,
        ...(unit ? { AF_UNIT_TEXT: idleWakerUnit(fleetName, layout.idleWaker) } : {}),
      };
      host.command(
        `${name}-idle-waker`,
        {
          create: shellProgram(fleetScript("install-idle-waker.sh"), params),
          delete: shellProgram(fleetScript("install-idle-waker.sh"), params, ["remove"]),
          stdin: program,
          triggers: [program],
        },
        child(runSteps),
      );
    }

    // Once every container runs the current image, the fleet's older images can go.
    if (!("ref" in args.image)) {
      host.command(
        `${name}-prune-images`,
        { create: shellProgram(fleetScript("prune-images.sh"), { AF_IMAGE: image }) },
        child([...Object.values(this.containers), ...(this.console ? [this.console.container] : [])]),
      );
    }

    this.agents = pulumi.output(outputs);
    this.agentctl = pulumi
      .all([host.operatorPrefix, ...Object.values(this.containers).map((c) => c.urn)])
      .apply(([prefix]) =>
        operatorCommands(
          prefix as string,
          host.kind === "local" ? host.agentctlPath : "agentctl",
          fleetName,
          args.agents,
        ),
      );

    this.registerOutputs({ image: this.image, agents: this.agents, agentctl: this.agentctl });
  }
}

/**
 * The step that makes the agent image present on the host: pulled (`ref`), or built on the host from
 * the filtered build context (uploaded as an archive first when the host does not see local files).
 * The tag of a built image is the hash of its context, Dockerfile path and build args.
 */
function agentImageStep(
  name: string,
  host: DockerHost,
  spec: FleetImageArgs,
  fleetName: string,
  archiveDir: string,
  opts: pulumi.CustomResourceOptions,
): { image: string; step: pulumi.CustomResource } {
  if ("ref" in spec) {
    return {
      image: spec.ref,
      step: host.command(
        `${name}-image`,
        { create: shellProgram(fleetScript("pull-image.sh"), { AF_IMAGE: spec.ref }) },
        opts,
      ),
    };
  }
  const b = spec.build;
  const dockerfile = b.dockerfile ?? "agent-image/Dockerfile";
  const buildArgs = Object.entries({ ...(b.buildArgs ?? {}), ...(b.baseImage ? { BASE_IMAGE: b.baseImage } : {}) })
    .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`);
  const context = dockerContextFiles(b.context);
  if (!context.files.includes(dockerfile)) {
    throw new Error(
      `DockerHostFleet ${name}: ${dockerfile} is not in the build context ${b.context} (missing, or excluded by .dockerignore)`,
    );
  }
  const hash = hashFileSet(context, [dockerfile, ...buildArgs]);
  const image = builtImageTag(fleetName, hash);
  const build = (env: Record<string, string>, buildOpts: pulumi.CustomResourceOptions) =>
    host.command(
      `${name}-image`,
      {
        create: shellProgram(
          fleetScript("build-image.sh"),
          { AF_IMAGE: image, AF_DOCKERFILE: dockerfile, ...env },
          buildArgs,
        ),
      },
      buildOpts,
    );
  if (host.seesLocalFiles) return { image, step: build({ AF_CONTEXT: b.context }, opts) };

  const short = hash.slice(0, 16);
  const archive = writeArchive(context, archiveDir, `image-${short}`, hash);
  const remoteArchive = `${host.uploadDir}/image-${short}.tar`;
  const upload = host.upload(`${name}-image-context`, archive, remoteArchive, opts);
  const step = build(
    { AF_CONTEXT: `${host.layout.imageContextDir}/${short}`, AF_ARCHIVE: remoteArchive },
    { ...opts, dependsOn: [upload] },
  );
  return { image, step };
}

/** An agent's approval mode as the stack outputs say it, on every target. */
export function approvalModeName(approvalRequired: boolean): "approval required" | "autonomous" {
  return approvalRequired ? "approval required" : "autonomous";
}

/** Ready-to-paste commands for the operator; `prefix` is "ssh ops@host " or "" locally. */
export function operatorCommands(
  prefix: string,
  agentctl: string,
  fleetName: string,
  agents: ReadonlyArray<{ name: string }>,
): Record<string, string> {
  const cli = `${prefix}${shellWord(agentctl)}`;
  const first = agents[0]?.name ?? "<agent>";
  return {
    status: `${cli} status`,
    tasks: `${cli} tasks`,
    proposals: `${cli} proposals --state pending`,
    diff: `${cli} diff <proposal-id>`,
    approve: `${cli} approve <proposal-id>`,
    reject: `${cli} reject <proposal-id> --reason "<why>"`,
    addTask: `${cli} task add --title "<title>" --instructions ./task.md --agent ${first}`,
    logs: `${cli} logs --follow`,
    containers: `${prefix}docker ps --all --filter label=agent-fleet.fleet=${fleetName}`,
  };
}
