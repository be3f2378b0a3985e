/** Containers made from containerSpec carry this label; test fleets' names start with TEST_FLEET_PREFIX. */
export const TEST_FLEET_LABEL = "agent-fleet.fleet";
export const TEST_FLEET_PREFIX = "ctest-";
