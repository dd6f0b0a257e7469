/**
 * The XSLT stylesheets the libvirt resources pass in `xml { xslt }`: an identity transform (copy the document the
 * provider generates unchanged) plus the templates that change it. Provider 0.8.3 forces a new resource when the
 * text changes, so the text this builds must stay byte for byte what running clusters were created with.
 */
export function identityStylesheet(templates: readonly string[]): string {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">',
    '  <xsl:output method="xml" indent="yes"/>',
    '  <xsl:template match="@*|node()">',
    "    <xsl:copy>",
    '      <xsl:apply-templates select="@*|node()"/>',
    "    </xsl:copy>",
    "  </xsl:template>",
    ...templates,
    "</xsl:stylesheet>",
    "",
  ].join("\n");
}
