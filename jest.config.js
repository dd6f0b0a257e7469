/** jest transpiles with swc (no type-checking: `npm test` runs tsc first). */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/__tests__"],
  testMatch: ["**/*.test.ts"],
  transform: { "^.+\\.ts$": ["@swc/jest", { jsc: { parser: { syntax: "typescript" }, target: "es2022" } }] },
  setupFilesAfterEnv: ["<rootDir>/__tests__/setup.ts"],
  // One worker per core (jest's default leaves one core idle: on 2 cores the suite would run serially).
  maxWorkers: "100%",
};
