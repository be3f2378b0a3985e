import { expect, test } from "vitest";
import { subnetCidrs } from "../../../../targets/aws/subnetCidrs.js";

test("subnets are the first blocks four bits longer than the VPC", () => {
  expect(subnetCidrs("10.42.0.0/16", 3)).toEqual(["10.42.0.0/20", "10.42.16.0/20", "10.42.32.0/20"]);
  expect(subnetCidrs("192.168.7.0/24", 2)).toEqual(["192.168.7.0/28", "192.168.7.16/28"]);
  expect(subnetCidrs("172.16.128.0/17", 1)).toEqual(["172.16.128.0/21"]);
  // A host address inside the block is normalised to the network.
  expect(subnetCidrs("10.0.5.9/16", 1)).toEqual(["10.0.0.0/20"]);
});

test("bad CIDRs and too many subnets are errors", () => {
  expect(() => subnetCidrs("10.0.0.0", 1)).toThrow('"10.0.0.0" is not an IPv4 CIDR');
  expect(() => subnetCidrs("10.0.300.0/16", 1)).toThrow("not an IPv4 CIDR of /28 or larger");
  expect(() => subnetCidrs("10.0.0.0/24", 17)).toThrow('"10.0.0.0/24" has room for 16 /28 subnets, not 17');
});
