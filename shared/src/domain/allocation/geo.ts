import type { GeoPoint } from '../orders/schemas.ts';

/** Mean Earth radius (IUGG), km. Good to about 0.5 %, plenty to rank warehouses by distance. */
export const earthRadiusKm = 6371.0088;

/** Great-circle distance in km between two points given in degrees (haversine formula). */
export function haversineKm(from: GeoPoint, to: GeoPoint): number {
  const radians = Math.PI / 180;
  const dLat = (to.lat - from.lat) * radians;
  const dLon = (to.lon - from.lon) * radians;
  const h =
    Math.sin(dLat / 2) ** 2 + Math.cos(from.lat * radians) * Math.cos(to.lat * radians) * Math.sin(dLon / 2) ** 2;
  return 2 * earthRadiusKm * Math.asin(Math.min(1, Math.sqrt(h)));
}
