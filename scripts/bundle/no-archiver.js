/**
 * Stands in for the `archiver` package inside the app's bundle (scripts/app-build.js): cdktf calls it only to zip
 * an archive asset, which the app does not use.
 */
"use strict";

module.exports = function archiver() {
  throw new Error("cdktf's archive assets (TerraformAsset with AssetType.ARCHIVE) are not available in the app's bundle (scripts/app-build.js); the app uses no assets");
};
