import type { ScenarioName } from "../options.js";
import { boundary } from "./boundary.js";
import { burst } from "./burst.js";
import { lifecycle } from "./lifecycle.js";
import { multi } from "./multi.js";
import { ramp } from "./ramp.js";
import type { Scenario } from "./scenario.js";
import { seed } from "./seed.js";

export const SCENARIO_RUNNERS: Record<ScenarioName, Scenario> = { seed, burst, ramp, multi, boundary, lifecycle };
