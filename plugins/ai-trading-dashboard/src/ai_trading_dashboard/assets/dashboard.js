/* Clientside callbacks (served from this origin: the Content-Security-Policy allows no inline script). */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  dashboard: {
    /* The live feed moved on: the server-side grids on this page fetch their visible rows again. */
    refreshGrids: function (version) {
      var ids = ["positions-grid", "open-orders-grid", "orders-grid", "fills-grid"];
      ids.forEach(function (id) {
        if (!document.getElementById(id) || !window.dash_ag_grid) { return; }
        try {
          var api = window.dash_ag_grid.getApi(id);
          if (api) { api.refreshInfiniteCache(); }
        } catch (e) { /* the grid is not ready yet: it fetches its rows itself when it is */ }
      });
      return version;
    }
  }
});
