# The Fargate fleet image: the agent image plus every agent's code as a seed for its EFS access
# point (see components/aws/codeSeed.ts). Built by FargateFleet with the repository root as the
# context; AGENT_IMAGE is the agent image just pushed to ECR (by digest).
ARG AGENT_IMAGE
FROM ${AGENT_IMAGE}
ARG AGENTS_DIR=agents
USER root
COPY ${AGENTS_DIR}/ /opt/agent-fleet/seed/
# Root-only: agent programs must not read other agents' code through the image.
RUN chown -R 0:0 /opt/agent-fleet/seed && chmod 0700 /opt/agent-fleet/seed
